package io.spool.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spool.testing.HttpJson;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every kind of bad request gets a 4xx problem body, stores nothing, and the gateway keeps serving.
 */
class BadInputTest {
  static TestGateway running;
  static HttpJson http;
  static String base;

  @BeforeAll
  static void start() {
    running = TestGateway.start(BadInputTest.class, "echo");
    http = running.http;
    base = running.base;
  }

  @AfterAll
  static void stop() {
    running.close();
  }

  static HttpRequest.Builder post(String path, String contentType, String body) {
    var request =
        HttpRequest.newBuilder(URI.create(base + path)).POST(BodyPublishers.ofString(body));
    return contentType == null ? request : request.header("Content-Type", contentType);
  }

  static HttpRequest.Builder json(String body) {
    return post("/v1/jobs", "application/json", body);
  }

  static Stream<Arguments> badRequests() {
    String deep =
        "{\"type\":\"echo\",\"request\":" + "{\"a\":".repeat(70) + "1" + "}".repeat(70) + "}";
    return Stream.of(
        Arguments.of("not JSON", json("{type: echo"), 400),
        Arguments.of("empty body", json(""), 400),
        Arguments.of("trailing garbage", json("{\"type\":\"echo\"} x"), 400),
        Arguments.of("JSON array instead of object", json("[1,2]"), 422),
        Arguments.of("JSON string", json("\"echo\""), 422),
        Arguments.of("missing type", json("{\"request\":{}}"), 422),
        Arguments.of("type not a string", json("{\"type\":7}"), 422),
        Arguments.of("type with bad characters", json("{\"type\":\"ec ho\"}"), 422),
        Arguments.of("unknown type", json("{\"type\":\"nope\"}"), 422),
        Arguments.of("unknown field (typo)", json("{\"type\":\"echo\",\"reqeust\":{}}"), 422),
        Arguments.of("request not an object", json("{\"type\":\"echo\",\"request\":[1]}"), 422),
        Arguments.of("queue with a brace", json("{\"type\":\"echo\",\"queue\":\"a{b}\"}"), 422),
        Arguments.of(
            "queue too long",
            json("{\"type\":\"echo\",\"queue\":\"" + "q".repeat(65) + "\"}"),
            422),
        Arguments.of("max_attempts zero", json("{\"type\":\"echo\",\"max_attempts\":0}"), 422),
        Arguments.of(
            "max_attempts fraction", json("{\"type\":\"echo\",\"max_attempts\":2.5}"), 422),
        Arguments.of(
            "max_attempts huge", json("{\"type\":\"echo\",\"max_attempts\":99999999999}"), 422),
        Arguments.of("nesting too deep", json(deep), 400),
        Arguments.of("run_at not a time", json("{\"type\":\"echo\",\"run_at\":\"tomorrow\"}"), 422),
        Arguments.of(
            "run_at and delay_secs both",
            json("{\"type\":\"echo\",\"run_at\":\"2030-01-01T00:00:00Z\",\"delay_secs\":5}"),
            422),
        Arguments.of("negative delay", json("{\"type\":\"echo\",\"delay_secs\":-1}"), 422),
        Arguments.of("priority out of range", json("{\"type\":\"echo\",\"priority\":5000}"), 422),
        Arguments.of("timeout of zero", json("{\"type\":\"echo\",\"timeout_secs\":0}"), 422),
        Arguments.of(
            "retention of zero (forever) under the default cap",
            json("{\"type\":\"echo\",\"retention_secs\":0}"),
            422),
        Arguments.of(
            "retention above SPOOL_RETENTION_JOB_MAX_SECS",
            json("{\"type\":\"echo\",\"retention_secs\":2592001}"),
            422),
        Arguments.of(
            "retention as a string", json("{\"type\":\"echo\",\"retention_secs\":\"60\"}"), 422),
        Arguments.of(
            "NUL character in the request",
            json("{\"type\":\"echo\",\"request\":{\"a\":[\"x\\u0000y\"]}}"),
            422),
        Arguments.of(
            "invalid UTF-8",
            HttpRequest.newBuilder(URI.create(base + "/v1/jobs"))
                .header("Content-Type", "application/json")
                .POST(
                    BodyPublishers.ofByteArray(
                        new byte[] {
                          '{', '"', 't', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'
                        })),
            400),
        Arguments.of("no content type", post("/v1/jobs", null, "{\"type\":\"echo\"}"), 415),
        Arguments.of("text/plain", post("/v1/jobs", "text/plain", "{\"type\":\"echo\"}"), 415),
        Arguments.of(
            "body over 1 MiB",
            json("{\"type\":\"echo\",\"request\":{\"x\":\"" + "x".repeat(1024 * 1024) + "\"}}"),
            413),
        Arguments.of("batch without jobs", post("/v1/jobs/batch", "application/json", "{}"), 422),
        Arguments.of(
            "batch of nothing", post("/v1/jobs/batch", "application/json", "{\"jobs\":[]}"), 422),
        Arguments.of(
            "batch entry not an object",
            post("/v1/jobs/batch", "application/json", "{\"jobs\":[1]}"),
            422),
        Arguments.of(
            "malformed job id",
            HttpRequest.newBuilder(URI.create(base + "/v1/jobs/not-a-uuid")).GET(),
            400),
        Arguments.of(
            "job id with junk",
            HttpRequest.newBuilder(URI.create(base + "/v1/jobs/%00%ff")).GET(),
            400),
        Arguments.of(
            "bad status filter",
            HttpRequest.newBuilder(URI.create(base + "/v1/jobs?status=done")).GET(),
            400),
        Arguments.of(
            "bad limit",
            HttpRequest.newBuilder(URI.create(base + "/v1/jobs?limit=abc")).GET(),
            400),
        Arguments.of(
            "limit too high",
            HttpRequest.newBuilder(URI.create(base + "/v1/jobs?limit=100000")).GET(),
            400),
        Arguments.of(
            "malformed cursor",
            HttpRequest.newBuilder(URI.create(base + "/v1/jobs?cursor=%21%21%21")).GET(),
            400),
        Arguments.of(
            "cursor of wrong length",
            HttpRequest.newBuilder(URI.create(base + "/v1/jobs?cursor=abcd")).GET(),
            400),
        Arguments.of(
            "repeated query parameter",
            HttpRequest.newBuilder(URI.create(base + "/v1/jobs?limit=1&limit=2")).GET(),
            400),
        Arguments.of(
            "wait_secs not a number",
            HttpRequest.newBuilder(
                    URI.create(
                        base + "/v1/jobs/" + java.util.UUID.randomUUID() + "?wait_secs=soon"))
                .GET(),
            400),
        Arguments.of(
            "wait_secs too long",
            HttpRequest.newBuilder(
                    URI.create(base + "/v1/jobs/" + java.util.UUID.randomUUID() + "?wait_secs=61"))
                .GET(),
            400),
        Arguments.of(
            "negative resume seq",
            HttpRequest.newBuilder(
                    URI.create(
                        base + "/v1/jobs/" + java.util.UUID.randomUUID() + "/events?after=-1"))
                .GET(),
            400),
        Arguments.of(
            "events of an unknown job",
            HttpRequest.newBuilder(
                    URI.create(base + "/v1/jobs/" + java.util.UUID.randomUUID() + "/events"))
                .GET(),
            404),
        Arguments.of(
            "cancel of a malformed id",
            HttpRequest.newBuilder(URI.create(base + "/v1/jobs/xyz/cancel"))
                .POST(BodyPublishers.noBody()),
            400),
        Arguments.of(
            "requeue of a malformed id",
            HttpRequest.newBuilder(URI.create(base + "/v1/dlq/xyz/requeue"))
                .POST(BodyPublishers.noBody()),
            400),
        Arguments.of(
            "status filter on the DLQ",
            HttpRequest.newBuilder(URI.create(base + "/v1/dlq?status=failed")).GET(),
            400),
        Arguments.of(
            "unknown route",
            HttpRequest.newBuilder(URI.create(base + "/v1/nothing-here")).GET(),
            404),
        Arguments.of(
            "wrong method",
            HttpRequest.newBuilder(URI.create(base + "/v1/jobs"))
                .PUT(BodyPublishers.ofString("{}")),
            405),
        Arguments.of(
            "delete on a job",
            HttpRequest.newBuilder(URI.create(base + "/v1/jobs/" + java.util.UUID.randomUUID()))
                .DELETE(),
            405),
        Arguments.of("a field given twice", json("{\"type\":\"echo\",\"type\":\"sleep\"}"), 400),
        Arguments.of("empty type", json("{\"type\":\"\"}"), 422),
        Arguments.of(
            "timeout as a string", json("{\"type\":\"echo\",\"timeout_secs\":\"60\"}"), 422),
        Arguments.of(
            "priority beyond any number", json("{\"type\":\"echo\",\"priority\":1e400}"), 422),
        Arguments.of(
            "idempotency key with a space",
            json("{\"type\":\"echo\",\"idempotency_key\":\"a b\"}"),
            422),
        Arguments.of(
            "Idempotency-Key header twice",
            json("{\"type\":\"echo\"}")
                .header("Idempotency-Key", "a")
                .header("Idempotency-Key", "b"),
            400),
        Arguments.of(
            "concurrency strategy without a key",
            json("{\"type\":\"echo\",\"concurrency_strategy\":\"reject\"}"),
            422),
        Arguments.of(
            "batch over 1,000 jobs",
            post(
                "/v1/jobs/batch",
                "application/json",
                "{\"jobs\":["
                    + String.join(",", java.util.Collections.nCopies(1001, "{\"type\":\"echo\"}"))
                    + "]}"),
            422),
        Arguments.of(
            "JSON in UTF-16",
            HttpRequest.newBuilder(URI.create(base + "/v1/jobs"))
                .header("Content-Type", "application/json; charset=utf-16")
                .POST(
                    BodyPublishers.ofString(
                        "{\"type\":\"echo\"}", java.nio.charset.StandardCharsets.UTF_16)),
            415),
        Arguments.of(
            "JSON merge patch type",
            post("/v1/jobs", "application/merge-patch+json", "{\"type\":\"echo\"}"),
            415),
        Arguments.of(
            "bad percent-encoding in a query",
            HttpRequest.newBuilder(URI.create(base + "/v1/jobs?status=%25zz")).GET(),
            400),
        Arguments.of(
            "wait_secs a fraction",
            HttpRequest.newBuilder(
                    URI.create(base + "/v1/jobs/" + java.util.UUID.randomUUID() + "?wait_secs=1.5"))
                .GET(),
            400),
        // HTTP/1.1 as curl and browsers send it (not the JDK client's h2c upgrade attempt).
        Arguments.of(
            "URL of 10,000 characters",
            HttpRequest.newBuilder(URI.create(base + "/v1/jobs/" + "a".repeat(10_000)))
                .version(java.net.http.HttpClient.Version.HTTP_1_1)
                .GET(),
            414),
        Arguments.of(
            "header of 20,000 characters",
            HttpRequest.newBuilder(URI.create(base + "/v1/jobs"))
                .header("X-Big", "b".repeat(20_000))
                .version(java.net.http.HttpClient.Version.HTTP_1_1)
                .GET(),
            431));
  }

  @ParameterizedTest(name = "{0} -> {2}")
  @MethodSource("badRequests")
  void badRequestGetsAProblemAndStoresNothing(
      String what, HttpRequest.Builder request, int expectedStatus) {
    long before = jobCount();
    var response = http.send(request);
    assertEquals(expectedStatus, response.status(), what + ": " + response.raw().body());
    assertEquals(Problem.CONTENT_TYPE, response.header("Content-Type"), what);
    var problem = response.json();
    assertEquals(expectedStatus, problem.get("status").asInt());
    assertTrue(problem.get("type").asText().startsWith("urn:spool:problem:"));
    assertFalse(problem.get("detail").asText().isBlank());
    assertFalse(response.raw().body().contains("at io."), "no stack trace in the body");
    assertEquals(before, jobCount(), what + ": nothing stored");
    // And the gateway still serves a good request.
    assertEquals(202, http.post("/v1/jobs", "{\"type\":\"echo\"}").status());
  }

  private static long jobCount() {
    var page = http.get("/v1/jobs?limit=500").json();
    return page.get("jobs").size();
  }
}
