package io.spool.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spool.testing.Eventually;
import io.spool.testing.HttpJson;
import io.spool.testing.OpenApiForValidator;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.openapi.contract.OpenAPIContract;
import io.vertx.openapi.validation.ResponseValidator;
import io.vertx.openapi.validation.ValidatableResponse;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Real answers of a running gateway, each checked against the operation openapi.json describes for
 * it: status codes, headers and bodies (jobs, pages, problems, queue figures, health).
 */
class OpenApiConformanceTest {
  private static final String KEY = "alice-key-0123456789abcdef";
  static InProcessSpool spool;
  static HttpJson http;
  static Vertx vertx;
  static ResponseValidator validator;
  static final HttpClient client =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @BeforeAll
  static void start() {
    spool =
        InProcessSpool.start(
            OpenApiConformanceTest.class,
            Map.of(
                "SPOOL_AUTH",
                "keys",
                "SPOOL_API_KEYS",
                KEY + "=alice",
                "SPOOL_QUEUE_STATS_SECS",
                "1"));
    http = new HttpJson("http://127.0.0.1:" + spool.config.gateway().port(), KEY);
    vertx = Vertx.vertx();
    var document = OpenApiForValidator.document(send("GET", "/openapi.json", null, null).body());
    validator = ResponseValidator.create(vertx, OpenAPIContract.from(vertx, document).await());
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
    spool.close();
  }

  private static HttpResponse<String> send(
      String method, String path, String json, Map<String, String> headers) {
    var request =
        HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + spool.config.gateway().port() + path))
            .timeout(Duration.ofSeconds(10))
            .method(
                method,
                json == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(json));
    if (json != null) {
      request.header("Content-Type", "application/json");
    }
    (headers == null ? Map.<String, String>of("Authorization", "Bearer " + KEY) : headers)
        .forEach(request::header);
    try {
      return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new AssertionError(method + " " + path + " failed", e);
    }
  }

  /** Sends the request, checks the status, and validates the answer against {@code operationId}. */
  private static HttpResponse<String> conforms(
      String operationId,
      int status,
      String method,
      String path,
      String json,
      Map<String, String> headers) {
    var response = send(method, path, json, headers);
    assertEquals(status, response.statusCode(), operationId + ": " + response.body());
    var responseHeaders = new HashMap<String, String>();
    response.headers().map().forEach((name, values) -> responseHeaders.put(name, values.get(0)));
    String contentType =
        OpenApiForValidator.mediaType(response.headers().firstValue("Content-Type").orElse(null));
    Buffer body = response.body().isEmpty() ? null : Buffer.buffer(response.body());
    try {
      validator
          .validate(
              ValidatableResponse.create(status, responseHeaders, body, contentType), operationId)
          .await();
    } catch (Exception e) {
      throw new AssertionError(
          operationId
              + " answered "
              + status
              + " outside openapi.json: "
              + e.getMessage()
              + "\n"
              + response.body(),
          e);
    }
    return response;
  }

  private static HttpResponse<String> conforms(
      String operationId, int status, String method, String path, String json) {
    return conforms(operationId, status, method, path, json, null);
  }

  @Test
  void jobRoutesAnswerAsDescribed() {
    String id = http.submit("{\"type\":\"sleep\",\"request\":{\"ms\":10}}");
    conforms(
        "submitJob",
        202,
        "POST",
        "/v1/jobs",
        "{\"type\":\"echo\",\"request\":{\"a\":1},\"queue\":\"default\",\"priority\":3}");
    var keyed = Map.of("Authorization", "Bearer " + KEY, "Idempotency-Key", "conformance-1");
    conforms("submitJob", 202, "POST", "/v1/jobs", "{\"type\":\"echo\",\"request\":{}}", keyed);
    conforms("submitJob", 200, "POST", "/v1/jobs", "{\"type\":\"echo\",\"request\":{}}", keyed);
    conforms("submitJob", 422, "POST", "/v1/jobs", "{\"type\":\"no-such-type\"}");
    conforms("submitJob", 415, "POST", "/v1/jobs", null);
    conforms("submitJob", 401, "POST", "/v1/jobs", "{\"type\":\"echo\"}", Map.of());
    conforms(
        "submitJobs",
        202,
        "POST",
        "/v1/jobs/batch",
        "{\"jobs\":[{\"type\":\"echo\"},{\"type\":\"echo\",\"priority\":5}]}");
    spool.awaitEnd(id, http);
    conforms("getJob", 200, "GET", "/v1/jobs/" + id + "?wait_secs=1", null);
    conforms("getJob", 404, "GET", "/v1/jobs/01a00000-0000-7000-8000-000000000000", null);
    conforms("getJob", 400, "GET", "/v1/jobs/not-a-uuid", null);
    var page = conforms("listJobs", 200, "GET", "/v1/jobs?limit=2", null);
    assertTrue(page.body().contains("next_cursor"));
    String later = http.submit("{\"type\":\"echo\",\"delay_secs\":3600}");
    conforms("cancelJob", 200, "POST", "/v1/jobs/" + later + "/cancel", null);
    conforms("cancelJob", 409, "POST", "/v1/jobs/" + id + "/cancel", null);
    conforms(
        "streamJobEvents",
        404,
        "GET",
        "/v1/jobs/01a00000-0000-7000-8000-000000000000/events",
        null);
  }

  @Test
  void deadLetterRoutesAnswerAsDescribed() {
    String dead = http.submit("{\"type\":\"fail\",\"request\":{\"times\":-1},\"max_attempts\":1}");
    assertEquals("failed", spool.awaitEnd(dead, http).get("status").asText());
    conforms("listDeadLetters", 200, "GET", "/v1/dlq", null);
    conforms("requeueDeadLetter", 200, "POST", "/v1/dlq/" + dead + "/requeue", null);
    assertEquals("failed", spool.awaitEnd(dead, http).get("status").asText());
    conforms("discardDeadLetter", 204, "DELETE", "/v1/dlq/" + dead, null);
    conforms("discardDeadLetter", 409, "DELETE", "/v1/dlq/" + dead, null);
    conforms(
        "requeueDeadLetter",
        404,
        "POST",
        "/v1/dlq/01a00000-0000-7000-8000-000000000000/requeue",
        null);
  }

  @Test
  void operationsRoutesAnswerAsDescribed() {
    Eventually.await(
        "queues sampled",
        Duration.ofSeconds(10),
        () -> send("GET", "/v1/queues", null, null).statusCode() == 200);
    conforms("getQueues", 200, "GET", "/v1/queues", null);
    conforms("live", 200, "GET", "/health/live", null, Map.of());
    conforms("ready", 200, "GET", "/health/ready", null, Map.of());
    conforms("metrics", 200, "GET", "/metrics", null, Map.of());
    conforms("openapi", 200, "GET", "/openapi.json", null, Map.of());
  }
}
