package io.spool.worker;

import io.spool.signal.JobEvents;
import io.spool.signal.JobEvents.NewEvent;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayList;
import java.util.List;

/**
 * The worker's handler events, from all its running jobs, written to Redis together: while one
 * write is in flight, whatever the jobs' {@link EventWriter}s hand over waits and goes in the next,
 * one pipeline of script calls of up to a hundred events each. So a thousand jobs streaming tokens
 * cost a few round trips per coalescing window, not one per job, and an event waits at most one
 * write's round trip longer. Each writer has one batch in flight at a time, so a job's events stay
 * in order.
 */
final class EventBatcher {
  private final JobEvents events;
  private final Context context;
  private List<NewEvent> pending = new ArrayList<>();
  private List<Promise<Void>> waiting = new ArrayList<>();
  private boolean inFlight;

  EventBatcher(JobEvents events, Context context) {
    this.events = events;
    this.context = context;
  }

  /** Completes when the events are written; fails, dropping them, when the write does. */
  Future<Void> emit(List<NewEvent> batch) {
    Promise<Void> written = Promise.promise();
    boolean start;
    synchronized (this) {
      pending.addAll(batch);
      waiting.add(written);
      start = !inFlight;
      inFlight = true;
    }
    if (start) {
      context.runOnContext(v -> write());
    }
    return written.future();
  }

  /** On the context; while {@code inFlight}. */
  private void write() {
    List<NewEvent> batch;
    List<Promise<Void>> done;
    synchronized (this) {
      if (pending.isEmpty()) {
        inFlight = false;
        return;
      }
      batch = pending;
      done = waiting;
      pending = new ArrayList<>();
      waiting = new ArrayList<>();
    }
    Future<Void> written;
    try {
      written = events.emit(batch);
    } catch (RuntimeException e) {
      // Never leave inFlight set: every later event of every job would wait behind it.
      written = Future.failedFuture(e);
    }
    written.onComplete(
        result -> {
          for (Promise<Void> promise : done) {
            promise.handle(result);
          }
          write();
        });
  }
}
