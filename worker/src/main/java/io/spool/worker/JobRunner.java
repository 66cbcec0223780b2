package io.spool.worker;

import io.spool.handler.JobHandler;
import io.spool.model.Job;
import io.spool.worker.AttemptFinisher.Outcome;
import io.vertx.core.Vertx;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one attempt: the handler on the calling virtual thread, then its outcome, fenced. The handler
 * is interrupted when its timeout passes, when the job is cancelled, or when the worker stops after
 * handing it back; handlers must let interrupts through (sleeping, awaiting and JDK HTTP calls do).
 */
final class JobRunner {
  private static final Logger log = LoggerFactory.getLogger(JobRunner.class);
  /** Longest error text stored on a job. */
  static final int MAX_ERROR_CHARS = 4000;

  /** Why a running handler was interrupted. */
  private enum Stop { TIMEOUT, CANCEL, SHUTDOWN }

  /** A handler running now: its thread, and why it was asked to stop, if it was. */
  private static final class Running {
    final Thread thread = Thread.currentThread();
    volatile Stop stop;

    void interrupt(Stop reason) {
      if (stop == null) {
        stop = reason;
      }
      thread.interrupt();
    }
  }

  /**
   * Timeouts fire on a thread of their own: a timer on the slot's context would wait behind the very
   * handler it is meant to interrupt (a virtual-thread context runs one task at a time).
   */
  private final ScheduledExecutorService timeouts = Executors.newSingleThreadScheduledExecutor(
      Thread.ofPlatform().daemon().name("spool-job-timeouts").factory());
  private static final long RECORD_RETRY_MAX_MILLIS = 5000;

  private final Vertx vertx;
  private final HandlerRegistry handlers;
  private final AttemptFinisher finisher;
  private final RetryBackoff backoff;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final Map<UUID, Running> running = new ConcurrentHashMap<>();

  JobRunner(Vertx vertx, HandlerRegistry handlers, AttemptFinisher finisher, RetryBackoff backoff) {
    this.vertx = vertx;
    this.handlers = handlers;
    this.finisher = finisher;
    this.backoff = backoff;
  }

  /** Attempts running now on this worker's slots. */
  int inFlight() {
    return inFlight.get();
  }

  /** Interrupts every handler still running: the worker is stopping and has handed their jobs back. */
  void interruptHandlers() {
    running.values().forEach(r -> r.interrupt(Stop.SHUTDOWN));
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
    try {
      runAttempt(job);
    } finally {
      inFlight.decrementAndGet();
    }
  }

  private void runAttempt(Job job) {
    Outcome outcome = job.cancelRequested() ? Outcome.cancelled() : attempt(job);
    if (outcome == null) {
      // The worker is stopping and handed the job back: nothing to write (the fence would refuse it).
      log.info("job {} attempt {} interrupted by shutdown", job.id(), job.attempts());
      return;
    }
    // Postgres may be away: keep trying while this worker lives and holds the lease (if it dies, the
    // lease reaper hands the job to another attempt; if it stops, the job is handed back).
    for (long wait = 250; ; wait = Math.min(wait * 2, RECORD_RETRY_MAX_MILLIS)) {
      try {
        if (!finisher.finish(job, outcome).await()) {
          log.info("job {} attempt {} was taken away from this worker; its outcome is dropped", job.id(), job.attempts());
        }
        return;
      } catch (VirtualMachineError e) {
        throw e;
      } catch (Throwable e) {
        if (e instanceof InterruptedException) {
          Thread.currentThread().interrupt();
          return;
        }
        log.warn("could not record the outcome of job {} attempt {}, retrying in {} ms: {}", job.id(), job.attempts(),
            wait, e.toString());
        try {
          vertx.timer(wait).await();
        } catch (Exception interrupted) {
          return;
        }
      }
    }
  }

  /** Runs the handler; null if it was interrupted because the worker is stopping. */
  private Outcome attempt(Job job) {
    JobHandler handler = handlers.get(job.type());
    if (handler == null) {
      return failure(job, "no handler for job type '" + job.type() + "' on worker; it runs " + handlers.types());
    }
    var attempt = new Running();
    running.put(job.id(), attempt);
    ScheduledFuture<?> timer = timeouts.schedule(() -> attempt.interrupt(Stop.TIMEOUT), job.timeoutSecs(), TimeUnit.SECONDS);
    try {
      // A handler that returns has done its work, whatever interrupt raced with it.
      return Outcome.completed(handler.run(new RunningJob(job)));
    } catch (VirtualMachineError e) {
      throw e;
    } catch (Throwable e) {
      if (e instanceof InterruptedException && attempt.stop == null) {
        Thread.currentThread().interrupt();
        return null;
      }
      return attempt.stop != null ? stopped(job, attempt.stop) : failure(job, describe(e));
    } finally {
      timer.cancel(false);
      running.remove(job.id());
      // An interrupt meant for this attempt must not leak into the slot's next wait, except at shutdown.
      if (attempt.stop != Stop.SHUTDOWN && attempt.stop != null) {
        Thread.interrupted();
      }
    }
  }

  private Outcome stopped(Job job, Stop why) {
    return switch (why) {
      case TIMEOUT -> failure(job, "timed out after " + job.timeoutSecs() + " s");
      case CANCEL -> Outcome.cancelled();
      case SHUTDOWN -> {
        Thread.currentThread().interrupt();
        yield null;
      }
    };
  }

  private Outcome failure(Job job, String error) {
    return Outcome.failed(error, backoff.millisAfterAttempt(job.attempts()));
  }

  static String describe(Throwable e) {
    String text = e.getMessage() == null ? e.getClass().getName() : e.getClass().getSimpleName() + ": " + e.getMessage();
    return text.length() > MAX_ERROR_CHARS ? text.substring(0, MAX_ERROR_CHARS) : text;
  }
}
