package io.spool.model;

import java.util.UUID;

/**
 * One attempt of one job: the fencing token of every write a worker makes about the job (design
 * note 3 in docs/architecture.md). {@code attempt} is the number the claim gave this attempt: the
 * job's attempt count right after it was claimed.
 */
public record AttemptRef(UUID jobId, int attempt) {
  /** The attempt a claimed job carries. */
  public static AttemptRef of(Job job) {
    return new AttemptRef(job.id(), job.attempts());
  }

  @Override
  public String toString() {
    return "job " + jobId + " attempt " + attempt;
  }
}
