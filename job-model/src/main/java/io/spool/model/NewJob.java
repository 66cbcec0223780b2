package io.spool.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.UUID;

/**
 * A validated submission, about to be inserted as a pending job.
 *
 * @param runAt not claimed before this; null for now
 * @param priority higher first within a queue
 * @param timeoutSecs how long one attempt may run
 * @param callbackUrl where to POST the signed webhook when the job ends; null for none
 * @param idempotencyKey the client's key naming this submission for a while; null for none
 * @param requestHash SHA-256 (hex) of the canonical submission, to tell a retry from a different
 *     request under the same key; null without a key
 * @param concurrencyKey jobs of the user with this key run one at a time, in submission order; null
 *     for none
 * @param rejectIfBusy refuse the submission (409) if a job with its concurrency key is pending or
 *     running
 * @param retentionSecs how long to keep the job once it has ended (0: forever); null for the
 *     retention settings
 */
public record NewJob(
    UUID id,
    String type,
    String queue,
    String userId,
    JsonNode request,
    int maxAttempts,
    int priority,
    Instant runAt,
    int timeoutSecs,
    String callbackUrl,
    String idempotencyKey,
    String requestHash,
    String concurrencyKey,
    boolean rejectIfBusy,
    Integer retentionSecs) {}
