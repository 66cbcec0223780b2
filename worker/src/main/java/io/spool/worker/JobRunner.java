package io.spool.worker;

import io.spool.handler.JobHandler;
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

  JobRunner(HandlerRegistry handlers, AttemptFinisher finisher) {
    this.handlers = handlers;
    this.finisher = finisher;
  }

  void run(ClaimedJob claimed) {
    Outcome outcome = attempt(claimed);
    if (outcome == null) {
      // Interrupted: the worker is stopping. The attempt is neither a success nor a failure, so
      // nothing is written; the job stays running under this worker until it is handed back.
      log.info("job {} attempt {} interrupted by shutdown", claimed.job().id(), claimed.job().attempts());
      return;
    }
    try {
      if (!finisher.finish(claimed, outcome).await()) {
        log.info("job {} attempt {} was taken away from this worker; its outcome is dropped",
            claimed.job().id(), claimed.job().attempts());
      }
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      // The job stays running under this worker's lease; lease recovery hands it to another attempt.
      log.warn("could not record the outcome of job {} attempt {}: {}", claimed.job().id(), claimed.job().attempts(), e.toString());
    }
  }

  private Outcome attempt(ClaimedJob claimed) {
    JobHandler handler = handlers.get(claimed.job().type());
    if (handler == null) {
      return Outcome.failed("no handler for job type '" + claimed.job().type() + "' on worker; it runs " + handlers.types());
    }
    try {
      return Outcome.completed(handler.run(new RunningJob(claimed.job())));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } catch (VirtualMachineError e) {
      throw e;
    } catch (Throwable e) {
      return Outcome.failed(describe(e));
    }
  }

  static String describe(Throwable e) {
    String text = e.getMessage() == null ? e.getClass().getName() : e.getClass().getSimpleName() + ": " + e.getMessage();
    return text.length() > MAX_ERROR_CHARS ? text.substring(0, MAX_ERROR_CHARS) : text;
  }
}
