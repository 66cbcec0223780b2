package io.spool.client;

import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.Locale;
import java.util.UUID;

/**
 * A job as the gateway shows it. JSON values the gateway sends as {@code null} are Java nulls here.
 *
 * @param id UUIDv7, so ids sort by submission time
 * @param type the handler that runs it, e.g. {@code echo}
 * @param queue the queue it waits in
 * @param userId the submitting user
 * @param request the handler's input
 * @param status where it is in its lifecycle
 * @param result the handler's output once completed, else null
 * @param error the last attempt's error, else null
 * @param attempts attempts started so far
 * @param maxAttempts attempts allowed before the job is dead-lettered
 * @param submittedAt when it was accepted (the gateway's Postgres clock)
 * @param startedAt when the latest attempt started, else null
 * @param finishedAt when it completed, failed or was cancelled, else null
 * @param priority higher runs first within its queue
 * @param runAt not started before this
 * @param timeoutSecs how long one attempt may run, in seconds
 * @param cancelRequested a cancellation was asked for while it ran; it ends cancelled shortly
 * @param callbackUrl where a webhook is POSTed each time it ends, else null
 * @param checkpoint the handler's last checkpoint, else null
 * @param concurrencyKey jobs with the same key run one at a time, else null
 * @param retentionSecs how long it is kept once it has ended, if its submission said; else null
 * @param webhook the latest webhook delivery (on a job read by id and in {@code end} events), else
 *     null
 */
public record Job(
    UUID id,
    String type,
    String queue,
    String userId,
    JsonNode request,
    Status status,
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

  public Job {
    // Jackson reads a JSON null into a JsonNode as NullNode; callers test for null.
    request = orNull(request);
    result = orNull(result);
    checkpoint = orNull(checkpoint);
    webhook = orNull(webhook);
  }

  private static JsonNode orNull(JsonNode node) {
    return node == null || node.isNull() ? null : node;
  }

  /** The five states of a job; {@code failed} jobs are the dead-letter queue. */
  public enum Status {
    PENDING,
    RUNNING,
    COMPLETED,
    FAILED,
    CANCELLED;

    private final String wire = name().toLowerCase(Locale.ROOT);

    /** The lower-case name the API uses. */
    @JsonValue
    public String wire() {
      return wire;
    }

    /** Completed, failed or cancelled: nothing more happens unless someone requeues it. */
    public boolean isFinished() {
      return this == COMPLETED || this == FAILED || this == CANCELLED;
    }
  }
}
