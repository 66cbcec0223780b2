package io.spool.worker;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.handler.JobContext;
import io.spool.model.Job;
import io.spool.model.JobEvent;
import io.spool.model.JobEvents;
import io.spool.model.JobEvents.NewEvent;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The {@link JobContext} of one attempt. */
final class RunningJob implements JobContext {
  private static final Logger log = LoggerFactory.getLogger(RunningJob.class);
  private static final Set<String> HANDLER_EVENT_TYPES = Set.of(JobEvent.PROGRESS, JobEvent.OUTPUT);

  private final Job job;
  private final JobEvents events;

  RunningJob(Job job, JobEvents events) {
    this.job = job;
    this.events = events;
  }

  @Override
  public Job job() {
    return job;
  }

  @Override
  public void emit(String type, JsonNode data) {
    if (!HANDLER_EVENT_TYPES.contains(type)) {
      throw new IllegalArgumentException("handlers emit " + HANDLER_EVENT_TYPES + " events, not '" + type + "'");
    }
    try {
      events.emit(new NewEvent(job.id(), type, job.attempts(), data)).await();
    } catch (VirtualMachineError e) {
      throw e;
    } catch (Throwable e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
        return;
      }
      log.debug("event of job {} dropped: {}", job.id(), e.toString());
    }
  }
}
