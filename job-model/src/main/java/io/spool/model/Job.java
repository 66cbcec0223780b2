package io.spool.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.UUID;

/**
 * A job as stored in Postgres and shown on the API (snake_case on the wire).
 *
 * @param id UUIDv7, so ids sort by submission time; set by the gateway
 * @param type the handler that runs it, e.g. {@code echo}
 * @param queue the queue it waits in; workers consume the queues in {@code SPOOL_QUEUES}
 * @param userId the submitting user; every API read is scoped to it
 * @param request the handler's input, a JSON object
 * @param status where it is in its lifecycle; changed only through {@link JobStatus}'s table
 * @param result the handler's output once completed, else null
 * @param error the last attempt's error, else null
 * @param attempts attempts started so far; also the fencing token of the running attempt
 * @param maxAttempts attempts allowed before the job is dead-lettered
 * @param submittedAt when the row was committed (Postgres clock)
 * @param startedAt when the latest attempt was claimed (Postgres clock), else null
 * @param finishedAt when it reached completed, failed or cancelled, else null
 * @param priority higher runs first within its queue
 * @param runAt not claimed before this (a delayed job, or a retry waiting out its backoff)
 * @param timeoutSecs how long one attempt may run before it is interrupted and fails
 * @param cancelRequested a cancellation was asked for while it ran; it ends as cancelled shortly
 * @param callbackUrl where a signed webhook is POSTed each time the job ends, else null
 * @param concurrencyKey jobs of one user with the same key run one at a time, in submission order;
 *     else null
 * @param checkpoint the handler's last checkpoint (any JSON), from which a retried attempt resumes;
 *     else null
 * @param retentionSecs how long the job is kept once it has ended, if its submission said (0:
 *     forever); null when the retention settings for its final status apply
 * @param webhook the latest webhook delivery ({@code url, state, attempts, last_status, last_error,
 *     next_attempt_at, delivered_at}) on a job read by id, else null
 */
public record Job(
    UUID id,
    String type,
    String queue,
    String userId,
    JsonNode request,
    JobStatus status,
    JsonNode result,
    String error,
    int attempts,
    int maxAttempts,
    Instant submittedAt,
    Instant startedAt,
    Instant finishedAt,
    int priority,
    Instant runAt,
    int timeoutSecs,
    boolean cancelRequested,
    String callbackUrl,
    JsonNode checkpoint,
    String concurrencyKey,
    Integer retentionSecs,
    JsonNode webhook) {

  /**
   * The job a submission became once its row was committed: pending, no attempt started, nothing
   * run yet; {@code submittedAt} and {@code runAt} as Postgres stored them.
   */
  public static Job justSubmitted(NewJob job, Instant submittedAt, Instant runAt) {
    return new Job(
        job.id(),
        job.type(),
        job.queue(),
        job.userId(),
        job.request(),
        JobStatus.PENDING,
        /* result= */ null,
        /* error= */ null,
        /* attempts= */ 0,
        job.maxAttempts(),
        submittedAt,
        /* startedAt= */ null,
        /* finishedAt= */ null,
        job.priority(),
        runAt,
        job.timeoutSecs(),
        /* cancelRequested= */ false,
        job.callbackUrl(),
        /* checkpoint= */ null,
        job.concurrencyKey(),
        job.retentionSecs(),
        /* webhook= */ null);
  }
}
