package io.spool.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.handler.JobContext;
import io.spool.handler.JobHandler;
import io.spool.model.JobJson;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/**
 * Test job type {@code charge}: {@code {"url": U, "after_ms": N}} POSTs to U once per job (inside
 * {@code once}, with the stable key in {@code Idempotency-Key}), then works on for N ms. Result
 * {@code {"charged": <the POST's status>}}: what a retried attempt gets back without POSTing again.
 */
public final class ChargeHandler implements JobHandler {
  private static final HttpClient client = HttpClient.newHttpClient();

  @Override
  public String type() {
    return "charge";
  }

  @Override
  public JsonNode run(JobContext context) throws Exception {
    JsonNode charged = context.once("charge", key -> {
      var response = client.send(HttpRequest.newBuilder(URI.create(context.request().path("url").asText()))
          .header("Idempotency-Key", key).POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
          HttpResponse.BodyHandlers.discarding());
      return JobJson.MAPPER.createObjectNode().put("status", response.statusCode());
    });
    Thread.sleep(context.request().path("after_ms").asLong());
    return JobJson.MAPPER.createObjectNode().put("charged", charged.path("status").asInt());
  }
}
