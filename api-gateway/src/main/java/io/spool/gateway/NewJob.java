package io.spool.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.UUID;

/** A validated submission, about to be inserted as a pending job. */
record NewJob(UUID id, String type, String queue, String userId, JsonNode request, int maxAttempts) {}
