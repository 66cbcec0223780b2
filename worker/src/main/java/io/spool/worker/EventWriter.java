package io.spool.worker;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.model.JobEvent;
import io.spool.model.JobJson;
import io.spool.signal.JobEvents.NewEvent;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One attempt's handler events, appended to the job's log in order without the handler waiting on
 * Redis for each. The first event goes at once; the next write starts no sooner than the coalescing
 * window ({@code SPOOL_EVENT_COALESCE_MILLIS}) after the last one began, and carries everything
 * emitted meanwhile. In it, consecutive {@code output} events whose data is only {@code {"text":
 * ...}} are joined into one (their texts concatenated, in order); every other event is kept as it
 * is, in order, only written together. So a model streaming 50 deltas a second costs at most 1000 /
 * window writes a second, and a subscriber reads exactly the same text. The writes of all the
 * worker's jobs share round trips ({@link EventBatcher}).
 *
 * <p>If Redis is away, a write's events are dropped (the log is a convenience, never the truth) and
 * the job goes on. {@link #drain} waits for what is pending, so the final status follows every
 * event.
 */
final class EventWriter {
  private static final Logger log = LoggerFactory.getLogger(EventWriter.class);

  /** Past this much pending text the emitting handler waits for the write in flight. */
  private static final int MAX_PENDING_CHARS = 1 << 20;

  private final EventBatcher events;
  private final Vertx vertx;
  private final long windowNanos;
  private final List<NewEvent> pending = new ArrayList<>();
  private int pendingChars;

  /** A write is in flight or scheduled. */
  private boolean writing;

  private long lastWriteStart = Long.MIN_VALUE;
  private Promise<Void> drained;

  EventWriter(EventBatcher events, Vertx vertx, Duration window) {
    this.events = events;
    this.vertx = vertx;
    this.windowNanos = window.toNanos();
  }

  /**
   * Queues the event; waits only when a great deal of text is pending (Redis slower than the
   * handler), and never on an event loop (the built-in {@code llm} type emits there), which must
   * not block: there the pending text is bounded by what the model sends in a few windows.
   */
  void emit(NewEvent event) {
    boolean wait;
    synchronized (this) {
      append(event);
      if (!writing) {
        schedule();
      }
      wait = pendingChars > MAX_PENDING_CHARS;
    }
    if (wait && !Context.isOnEventLoopThread()) {
      awaitDrained(Duration.ofSeconds(30));
    }
  }

  /** Whether anything emitted is not written yet. */
  synchronized boolean busy() {
    return writing || !pending.isEmpty();
  }

  /** Completes once every event emitted so far has been written (or dropped, Redis being away). */
  synchronized Future<Void> drain() {
    if (!writing && pending.isEmpty()) {
      return Future.succeededFuture();
    }
    if (drained == null) {
      drained = Promise.promise();
    }
    return drained.future();
  }

  /** {@link #drain}, waited for at most {@code bound} on the calling (virtual) thread. */
  void awaitDrained(Duration bound) {
    try {
      drain().await(bound.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      log.debug("events not all written: {}", e.toString());
    }
  }

  private void append(NewEvent event) {
    String text = textOnly(event);
    if (text != null && !pending.isEmpty()) {
      NewEvent last = pending.get(pending.size() - 1);
      String before = textOnly(last);
      if (before != null && last.attempt() == event.attempt()) {
        pending.set(
            pending.size() - 1,
            new NewEvent(
                event.jobId(),
                JobEvent.OUTPUT,
                event.attempt(),
                JobJson.MAPPER.createObjectNode().put("text", before + text)));
        pendingChars += text.length();
        return;
      }
    }
    pending.add(event);
    pendingChars += text == null ? 64 : text.length();
  }

  /** The text of an {@code output} event that carries nothing else, or null. */
  private static String textOnly(NewEvent event) {
    JsonNode data = event.data();
    if (!JobEvent.OUTPUT.equals(event.type())
        || data == null
        || !data.isObject()
        || data.size() != 1) {
      return null;
    }
    JsonNode text = data.get("text");
    return text != null && text.isTextual() ? text.asText() : null;
  }

  /**
   * Starts the next write now, or when the window since the last one has passed. Under the lock.
   */
  private void schedule() {
    writing = true;
    long wait =
        lastWriteStart == Long.MIN_VALUE ? 0 : windowNanos - (System.nanoTime() - lastWriteStart);
    if (wait <= 0) {
      write();
    } else {
      vertx.setTimer(
          Math.max(1, TimeUnit.NANOSECONDS.toMillis(wait)),
          t -> {
            synchronized (this) {
              write();
            }
          });
    }
  }

  /** Under the lock. */
  private void write() {
    List<NewEvent> batch = List.copyOf(pending);
    pending.clear();
    pendingChars = 0;
    lastWriteStart = System.nanoTime();
    events
        .emit(batch)
        .onComplete(
            done -> {
              if (done.failed()) {
                log.debug(
                    "{} events of job {} dropped: {}",
                    batch.size(),
                    batch.get(0).jobId(),
                    done.cause().toString());
              }
              Promise<Void> idle = null;
              synchronized (this) {
                writing = false;
                if (!pending.isEmpty()) {
                  schedule();
                } else if (drained != null) {
                  idle = drained;
                  drained = null;
                }
              }
              if (idle != null) {
                idle.complete();
              }
            });
  }
}
