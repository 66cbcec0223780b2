package io.spool.worker;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.attempt.AttemptFinisher;
import io.spool.attempt.AttemptFinisher.Outcome;
import io.spool.attempt.RetryBackoff;
import io.spool.handler.AttemptLostException;
import io.spool.handler.JobHandler;
import io.spool.handler.NonRetryableException;
import io.spool.handler.PartialResultException;
import io.spool.model.AttemptRef;
import io.spool.model.Job;
import io.spool.model.JobStatus;
import io.spool.ops.SpoolMetrics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.SqlClient;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one attempt: the handler on a virtual thread of its own, then its outcome, fenced. The
 * handler is interrupted when its timeout passes, when the job is cancelled, or when the worker
 * stops after handing it back; handlers must let interrupts through (sleeping, awaiting and JDK
 * HTTP calls do).
 *
 * <p>The handler's thread is a plain virtual thread, not the slot's Vert.x context: Vert.x 5.0
 * leaves a virtual-thread context unusable once a thread parked in its {@code await} is interrupted
 * (eclipse-vertx/vert.x#6349, fixed after 5.0.12), and interrupting is how a running job is
 * stopped.
 */
final class JobRunner {
  private static final Logger log = LoggerFactory.getLogger(JobRunner.class);

  /** Longest error text stored on a job. */
  static final int MAX_ERROR_CHARS = 4000;

  /**
   * Longest an ending attempt waits for its events to be written before its status (Redis slow or
   * away).
   */
  private static final Duration EVENTS_DRAIN = Duration.ofSeconds(5);

  /**
   * Why a running handler was interrupted. SHUTDOWN and LEASE_LOST write nothing: the job was (or
   * is being) handed back or taken over, and the fence would refuse the write anyway.
   */
  private enum Stop {
    TIMEOUT,
    CANCEL,
    SHUTDOWN,
    LEASE_LOST
  }

  /**
   * A handler running now: its thread, and why it was asked to stop. Interrupting and finishing
   * exclude each other, so no interrupt lands after the handler is done (it would break the
   * outcome's write or the slot's next wait).
   */
  private static final class Running {
    final Thread thread;
    final int attemptNumber;
    private Stop stop;
    private boolean done;

    Running(Thread thread, int attemptNumber) {
      this.thread = thread;
      this.attemptNumber = attemptNumber;
    }

    synchronized void interrupt(Stop reason) {
      if (done) {
        return;
      }
      if (stop == null) {
        stop = reason;
      }
      thread.interrupt();
    }

    /** Marks the handler finished; answers why it was stopped, or null. */
    synchronized Stop finish() {
      done = true;
      return stop;
    }
  }

  /**
   * Timeouts fire on a thread of their own: a timer on the slot's context would wait behind the
   * very handler it is meant to interrupt (a virtual-thread context runs one task at a time).
   */
  private final ScheduledExecutorService timeouts =
      Executors.newSingleThreadScheduledExecutor(
          Thread.ofPlatform().daemon().name("spool-job-timeouts").factory());

  private final Vertx vertx;

  /** For the attempts' checkpoints and side effects. */
  private final SqlClient pg;

  private final HandlerRegistry handlers;
  private final AttemptFinisher finisher;
  private final RetryBackoff backoff;
  private final EventBatcher events;
  private final Duration eventCoalesce;
  private final SpoolMetrics metrics;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final Map<UUID, Running> running = new ConcurrentHashMap<>();

  JobRunner(
      Vertx vertx,
      SqlClient pg,
      HandlerRegistry handlers,
      AttemptFinisher finisher,
      RetryBackoff backoff,
      EventBatcher events,
      Duration eventCoalesce,
      SpoolMetrics metrics) {
    this.metrics = metrics;
    this.eventCoalesce = eventCoalesce;
    this.vertx = vertx;
    this.pg = pg;
    this.events = events;
    this.handlers = handlers;
    this.finisher = finisher;
    this.backoff = backoff;
  }

  /** Attempts running now on this worker's slots. */
  int inFlight() {
    return inFlight.get();
  }

  /**
   * Interrupts every handler still running: the worker is stopping. Nothing they did is written.
   */
  void interruptHandlers() {
    running.values().forEach(r -> r.interrupt(Stop.SHUTDOWN));
  }

  /**
   * This worker was declared dead (its heartbeat row had been reaped): the attempts not in {@code
   * stillMine} now belong to others. Stops their handlers; nothing they did is written.
   */
  void abandonAllBut(Set<AttemptRef> stillMine) {
    running.forEach(
        (id, attempt) -> {
          if (!stillMine.contains(new AttemptRef(id, attempt.attemptNumber))) {
            attempt.interrupt(Stop.LEASE_LOST);
          }
        });
  }

  /** Stops the timeout scheduler; for a worker that has stopped. */
  void close() {
    timeouts.shutdownNow();
  }

  /** Interrupts the job's handler if it runs here; its attempt then ends as cancelled. */
  void cancel(UUID jobId) {
    Running attempt = running.get(jobId);
    if (attempt != null) {
      log.info("cancelling job {}", jobId);
      attempt.interrupt(Stop.CANCEL);
    }
  }

  void run(Job job) {
    inFlight.incrementAndGet();
    if (job.startedAt() != null) {
      // Both instants are Postgres's: the wait since the job was due, whatever this machine's clock
      // says.
      Instant due = job.runAt().isAfter(job.submittedAt()) ? job.runAt() : job.submittedAt();
      metrics.started(job.queue(), job.type(), Duration.between(due, job.startedAt()));
    }
    try {
      runAttempt(job);
    } finally {
      inFlight.decrementAndGet();
    }
  }

  private void runAttempt(Job job) {
    long startNanos = System.nanoTime();
    AttemptEnd end =
        job.cancelRequested() ? new AttemptEnd.Ends(Outcome.cancelled()) : attempt(job);
    if (!(end instanceof AttemptEnd.Ends(Outcome outcome))) {
      log.info(
          "job {} attempt {} stopped: {}", job.id(), job.attempts(), ((AttemptEnd.Lost) end).why());
      return;
    }
    // How long the handler ran, not the wait for Postgres below.
    Duration ran = Duration.ofNanos(System.nanoTime() - startNanos);
    // Postgres may be away: keep trying while this worker lives and holds the lease (if it stops,
    // the
    // job is handed back).
    try {
      if (!PostgresRetry.untilAnswered(
          vertx,
          () -> finisher.finish(job, outcome, ran),
          "the outcome of job " + job.id() + " attempt " + job.attempts())) {
        log.info(
            "job {} attempt {} was taken away from this worker; its outcome is dropped",
            job.id(),
            job.attempts());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Runs the handler, and says how the attempt ended. */
  private AttemptEnd attempt(Job job) {
    JobHandler handler = handlers.get(job.type());
    if (handler == null) {
      return new AttemptEnd.Ends(
          failure(
              job,
              "no handler for job type '"
                  + job.type()
                  + "' on worker; it runs "
                  + handlers.types()));
    }
    var ended = new CompletableFuture<Ended>();
    Thread thread =
        Thread.ofVirtual()
            .name("spool-job-" + job.id())
            .unstarted(
                () -> {
                  try {
                    ended.complete(runHandler(handler, job));
                  } catch (Throwable e) {
                    ended.completeExceptionally(e);
                    throw e;
                  }
                });
    var attempt = new Running(thread, job.attempts());
    running.put(job.id(), attempt);
    ScheduledFuture<?> timer =
        timeouts.schedule(
            () -> attempt.interrupt(Stop.TIMEOUT), job.timeoutSecs(), TimeUnit.SECONDS);
    thread.start();
    // The slot waits, never interrupted itself; the handler's thread is the one stopped.
    Ended end = Future.fromCompletionStage(ended, vertx.getOrCreateContext()).await();
    timer.cancel(false);
    Stop stop = attempt.finish();
    running.remove(job.id());
    // A stop (timeout, cancel...) decides unless the handler completed; a lost attempt writes
    // nothing.
    if (end.end() instanceof AttemptEnd.Ends(Outcome outcome)) {
      if (stop == null || outcome.status() == JobStatus.COMPLETED) {
        return new AttemptEnd.Ends(outcome.withPartialResult(end.partial()));
      }
    } else if (stop == null) {
      return end.end();
    }
    return switch (stop) {
      case TIMEOUT ->
          new AttemptEnd.Ends(
              failure(job, "timed out after " + job.timeoutSecs() + " s")
                  .withPartialResult(end.partial()));
      case CANCEL -> new AttemptEnd.Ends(Outcome.cancelled().withPartialResult(end.partial()));
      case SHUTDOWN -> new AttemptEnd.Lost("the worker is stopping; the job was handed back");
      case LEASE_LOST ->
          new AttemptEnd.Lost("this worker was declared dead; the job went to another");
    };
  }

  /** How a handler returned, and a partial result it kept. */
  private record Ended(AttemptEnd end, JsonNode partial) {}

  /** Runs the handler on the calling (the attempt's own) thread. */
  private Ended runHandler(JobHandler handler, Job job) {
    var writer = new EventWriter(events, vertx, eventCoalesce);
    try {
      // A handler that returns has done its work, whatever interrupt raced with it.
      var outcome = Outcome.completed(handler.run(new RunningJob(job, writer, pg, vertx)));
      return new Ended(new AttemptEnd.Ends(outcome), null);
    } catch (AttemptLostException e) {
      return new Ended(
          new AttemptEnd.Lost("a fenced write found the job taken away: " + e.getMessage()), null);
    } catch (NonRetryableException e) {
      return new Ended(new AttemptEnd.Ends(Outcome.failedForGood(describe(e))), null);
    } catch (PartialResultException e) {
      return new Ended(new AttemptEnd.Ends(failure(job, describe(e))), e.partialResult());
    } catch (StackOverflowError e) {
      // The handler's own thread unwound: nothing else is hurt.
      return new Ended(new AttemptEnd.Ends(failure(job, describe(e))), null);
    } catch (VirtualMachineError e) {
      throw e;
    } catch (Throwable e) {
      return new Ended(new AttemptEnd.Ends(failure(job, describe(e))), null);
    } finally {
      // Its events go before its final status: a subscriber reads all the text, then the end.
      if (writer.busy()) {
        boolean interrupted = Thread.interrupted();
        writer.awaitDrained(EVENTS_DRAIN);
        if (interrupted) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  private Outcome failure(Job job, String error) {
    return Outcome.failed(error, backoff.millisAfterAttempt(job.attempts()));
  }

  static String describe(Throwable e) {
    String text =
        e.getMessage() == null
            ? e.getClass().getName()
            : e.getClass().getSimpleName() + ": " + e.getMessage();
    return text.length() > MAX_ERROR_CHARS ? text.substring(0, MAX_ERROR_CHARS) : text;
  }
}
