package io.spool.worker;

import io.spool.handler.JobContext;
import io.spool.model.Job;

/** The {@link JobContext} of one attempt. */
final class RunningJob implements JobContext {
  private final Job job;

  RunningJob(Job job) {
    this.job = job;
  }

  @Override
  public Job job() {
    return job;
  }
}
