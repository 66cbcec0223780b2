package io.spool.worker;

import io.spool.handler.JobHandler;
import io.spool.model.Job;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import io.spool.worker.AttemptFinisher.Outcome;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Runs one attempt: the handler on the calling virtual thread, then its outcome, fenced. */
final class JobRunner {
  private static final Logger log = LoggerFactory.getLogger(JobRunner.class);
  /** Longest error text stored on a job. */
  static final int MAX_ERROR_CHARS = 4000;

  private final HandlerRegistry handlers;
  private final AttemptFinisher finisher;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final Set<Thread> handlerThreads = ConcurrentHashMap.newKeySet();

  JobRunner(HandlerRegistry handlers, AttemptFinisher finisher) {
    this.handlers = handlers;
    this.finisher = finisher;
  }

  /** Attempts running now on this worker's slots. */
  int inFlight() {
    return inFlight.get();
  }

  /** Interrupts every handler still running: the worker is stopping and has handed their jobs back. */
  void interruptHandlers() {
    handlerThreads.forEach(Thread::interrupt);
  }

  void run(Job job) {
    inFlight.incrementAndGet();
    try {
      runAttempt(job);
    } finally {
      inFlight.decrementAndGet();
    }
  }

  private void runAttempt(Job claimed) {
    Outcome outcome = attempt(claimed);
    if (outcome == null) {
      // Interrupted: the worker is stopping. The attempt is neither a success nor a failure, so
      // nothing is written; the job stays running under this worker until it is handed back.
      log.info("job {} attempt {} interrupted by shutdown", claimed.id(), claimed.attempts());
      return;
    }
    try {
      if (!finisher.finish(claimed, outcome).await()) {
        log.info("job {} attempt {} was taken away from this worker; its outcome is dropped",
            claimed.id(), claimed.attempts());
      }
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      // The job stays running under this worker's lease; lease recovery hands it to another attempt.
      log.warn("could not record the outcome of job {} attempt {}: {}", claimed.id(), claimed.attempts(), e.toString());
    }
  }

  private Outcome attempt(Job claimed) {
    JobHandler handler = handlers.get(claimed.type());
    if (handler == null) {
      return Outcome.failed("no handler for job type '" + claimed.type() + "' on worker; it runs " + handlers.types());
    }
    handlerThreads.add(Thread.currentThread());
    try {
      return Outcome.completed(handler.run(new RunningJob(claimed)));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } catch (VirtualMachineError e) {
      throw e;
    } catch (Throwable e) {
      return Outcome.failed(describe(e));
    } finally {
      handlerThreads.remove(Thread.currentThread());
    }
  }

  static String describe(Throwable e) {
    String text = e.getMessage() == null ? e.getClass().getName() : e.getClass().getSimpleName() + ": " + e.getMessage();
    return text.length() > MAX_ERROR_CHARS ? text.substring(0, MAX_ERROR_CHARS) : text;
  }
}
