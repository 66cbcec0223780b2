package io.spool.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.Objects;

/**
 * A job to submit. Built once with {@link #builder(String)} and encoded to JSON then, so submitting
 * the same request many times costs no encoding. Fields left unset take the gateway's defaults.
 */
public final class JobRequest {
  /** What to do when a job with the same concurrency key is already pending or running. */
  public enum ConcurrencyStrategy {
    /** Wait its turn (the default). */
    ENQUEUE,
    /** Refuse the submission with 409. */
    REJECT
  }

  private final String type;
  private final String idempotencyKey;
  private final String json;

  private JobRequest(String type, String idempotencyKey, String json) {
    this.type = type;
    this.idempotencyKey = idempotencyKey;
    this.json = json;
  }

  /** A request for a job of {@code type}, e.g. {@code echo}; the only required field. */
  public static Builder builder(String type) {
    return new Builder(type);
  }

  public String type() {
    return type;
  }

  /** The idempotency key, or null. */
  public String idempotencyKey() {
    return idempotencyKey;
  }

  /** The submission body, as sent. */
  public String json() {
    return json;
  }

  @Override
  public String toString() {
    return json;
  }

  public static final class Builder {
    private final ObjectNode body = ClientJson.MAPPER.createObjectNode();
    private final String type;
    private String idempotencyKey;

    private Builder(String type) {
      this.type = Objects.requireNonNull(type, "type");
      body.put("type", type);
    }

    /**
     * The handler's input: a JsonNode, a Map or a record, anything Jackson makes a JSON object of.
     */
    public Builder request(Object request) {
      body.set(
          "request",
          request instanceof JsonNode node ? node : ClientJson.MAPPER.valueToTree(request));
      return this;
    }

    public Builder queue(String queue) {
      body.put("queue", queue);
      return this;
    }

    /**
     * Attempts before the job is dead-lettered; the gateway's default is {@code
     * SPOOL_MAX_ATTEMPTS}.
     */
    public Builder maxAttempts(int maxAttempts) {
      body.put("max_attempts", maxAttempts);
      return this;
    }

    /** −1000 to 1000, higher first; default 0. */
    public Builder priority(int priority) {
      body.put("priority", priority);
      return this;
    }

    /** Not started before this instant. Give this or {@link #delaySecs}, not both. */
    public Builder runAt(Instant runAt) {
      body.put("run_at", runAt.toString());
      return this;
    }

    /** Not started for this many seconds. */
    public Builder delaySecs(long delaySecs) {
      body.put("delay_secs", delaySecs);
      return this;
    }

    /** How long one attempt may run before it is interrupted and fails. */
    public Builder timeoutSecs(int timeoutSecs) {
      body.put("timeout_secs", timeoutSecs);
      return this;
    }

    /** Where a signed webhook is POSTed each time the job ends. */
    public Builder callbackUrl(String callbackUrl) {
      body.put("callback_url", callbackUrl);
      return this;
    }

    /**
     * A retried submission with the same key and request makes no second job (1–255 visible ASCII).
     */
    public Builder idempotencyKey(String idempotencyKey) {
      this.idempotencyKey = idempotencyKey;
      // Sent in the body, not as a header, so the same request works alone and in a batch.
      body.put("idempotency_key", idempotencyKey);
      return this;
    }

    /** Your jobs with the same key run one at a time, in submission order. */
    public Builder concurrencyKey(String concurrencyKey) {
      body.put("concurrency_key", concurrencyKey);
      return this;
    }

    /**
     * How long to keep the job once it has ended, instead of the server's setting for its final
     * status (0: forever, where the server allows it).
     */
    public Builder retentionSecs(int retentionSecs) {
      body.put("retention_secs", retentionSecs);
      return this;
    }

    public Builder concurrencyStrategy(ConcurrencyStrategy strategy) {
      body.put("concurrency_strategy", strategy.name().toLowerCase(java.util.Locale.ROOT));
      return this;
    }

    public JobRequest build() {
      return new JobRequest(type, idempotencyKey, ClientJson.encode(body));
    }
  }
}
