package io.spool.client;

/**
 * The answer to a submission.
 *
 * @param job the job, as committed
 * @param replayed the idempotency key had already made this job: nothing new was created (HTTP 200)
 */
public record Submission(Job job, boolean replayed) {}
