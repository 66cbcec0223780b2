package io.spool.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.testing.HttpJson;
import java.net.URI;
import java.net.http.HttpRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Idempotent submission: a key names one job; a retry gets it back, a different request under it a
 * 409.
 */
class IdempotencyTest {
  static TestGateway running;
  static HttpJson http;

  @BeforeAll
  static void start() {
    running = TestGateway.start(IdempotencyTest.class, "echo");
    http = running.http;
  }

  @AfterAll
  static void stop() {
    running.close();
  }

  private static HttpJson.Response post(String path, String key, String body) {
    var request =
        HttpRequest.newBuilder(URI.create(running.base + path))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (key != null) {
      request.header("Idempotency-Key", key);
    }
    return http.send(request);
  }

  /** Jobs stored whose request carries this marker. */
  private static long storedWithMarker(String marker) {
    JsonNode jobs = http.get("/v1/jobs?limit=500").json().get("jobs");
    long n = 0;
    for (JsonNode job : jobs) {
      n += job.path("request").path("marker").asText().equals(marker) ? 1 : 0;
    }
    return n;
  }

  @Test
  void aRetriedSubmissionGetsTheSameJobBack() {
    var first =
        post("/v1/jobs", "order-1", "{\"type\":\"echo\",\"request\":{\"marker\":\"m1\",\"a\":1}}");
    assertEquals(202, first.status(), first.raw().body());
    // The same request, fields in another order and spaced differently.
    var again =
        post(
            "/v1/jobs",
            "order-1",
            "{ \"request\": {\"a\": 1, \"marker\": \"m1\"}, \"type\": \"echo\" }");
    assertEquals(200, again.status(), again.raw().body());
    assertEquals("true", again.header("Idempotent-Replayed"));
    assertEquals(first.json().get("id"), again.json().get("id"));
    assertEquals("/v1/jobs/" + first.json().get("id").asText(), again.header("Location"));
    assertEquals(1, storedWithMarker("m1"));
  }

  @Test
  void theKeyMayComeInTheBodyAndADifferentRequestUnderItIsAConflict() {
    var first =
        http.post(
            "/v1/jobs",
            "{\"type\":\"echo\",\"idempotency_key\":\"order-2\",\"request\":{\"marker\":\"m2\"}}");
    assertEquals(202, first.status(), first.raw().body());
    var header = post("/v1/jobs", "order-2", "{\"type\":\"echo\",\"request\":{\"marker\":\"m2\"}}");
    assertEquals(200, header.status(), "the key in the header names the same submission");
    var different =
        http.post(
            "/v1/jobs",
            "{\"type\":\"echo\",\"idempotency_key\":\"order-2\",\"request\":{\"marker\":\"m2\",\"x\":2}}");
    assertEquals(409, different.status(), different.raw().body());
    assertEquals(Problem.CONTENT_TYPE, different.header("Content-Type"));
    assertTrue(different.raw().body().contains("order-2"), different.raw().body());
    assertEquals(1, storedWithMarker("m2"), "the conflicting request stored nothing");
  }

  @Test
  void concurrentDuplicatesMakeOneJob() throws Exception {
    int clients = 16;
    var pool = Executors.newFixedThreadPool(clients);
    var go = new CountDownLatch(1);
    var answers = new ArrayList<Future<HttpJson.Response>>();
    for (int i = 0; i < clients; i++) {
      answers.add(
          pool.submit(
              () -> {
                go.await();
                return post(
                    "/v1/jobs", "order-3", "{\"type\":\"echo\",\"request\":{\"marker\":\"m3\"}}");
              }));
    }
    go.countDown();
    var ids = new ArrayList<String>();
    int created = 0;
    for (var answer : answers) {
      HttpJson.Response response = answer.get();
      assertTrue(response.status() == 202 || response.status() == 200, response.raw().body());
      created += response.status() == 202 ? 1 : 0;
      ids.add(response.json().get("id").asText());
    }
    pool.shutdown();
    assertEquals(1, created, "exactly one request created the job");
    assertEquals(1, ids.stream().distinct().count(), "every request got the same job: " + ids);
    assertEquals(1, storedWithMarker("m3"));
  }

  @Test
  void batchesUseAKeyPerJobAndStayAllOrNothing() {
    String batch =
        "{\"jobs\":[{\"type\":\"echo\",\"idempotency_key\":\"b-1\",\"request\":{\"marker\":\"m4\"}},"
            + "{\"type\":\"echo\",\"idempotency_key\":\"b-1\",\"request\":{\"marker\":\"m4\"}},"
            + "{\"type\":\"echo\",\"request\":{\"marker\":\"m4-free\"}}]}";
    var first = http.post("/v1/jobs/batch", batch);
    assertEquals(202, first.status(), first.raw().body());
    JsonNode jobs = first.json().get("jobs");
    assertEquals(
        jobs.get(0).get("id"), jobs.get(1).get("id"), "one key in one batch names one job");
    var again = http.post("/v1/jobs/batch", batch);
    assertEquals(202, again.status(), "the job without a key is new again");
    assertEquals(jobs.get(0).get("id"), again.json().get("jobs").get(0).get("id"));
    assertNotEquals(jobs.get(2).get("id"), again.json().get("jobs").get(2).get("id"));
    assertEquals(1, storedWithMarker("m4"));

    var conflicting =
        http.post(
            "/v1/jobs/batch",
            "{\"jobs\":[{\"type\":\"echo\",\"request\":{\"marker\":\"m4-lost\"}},"
                + "{\"type\":\"echo\",\"idempotency_key\":\"b-1\",\"request\":{\"marker\":\"other\"}}]}");
    assertEquals(409, conflicting.status(), conflicting.raw().body());
    assertEquals(0, storedWithMarker("m4-lost"), "nothing of a conflicting batch is stored");

    var headerOnBatch = post("/v1/jobs/batch", "k", "{\"jobs\":[{\"type\":\"echo\"}]}");
    assertEquals(422, headerOnBatch.status(), headerOnBatch.raw().body());
  }

  @Test
  void malformedKeysAreRefused() {
    assertEquals(422, post("/v1/jobs", "has space", "{\"type\":\"echo\"}").status());
    assertEquals(422, post("/v1/jobs", "x".repeat(256), "{\"type\":\"echo\"}").status());
    assertEquals(
        422, http.post("/v1/jobs", "{\"type\":\"echo\",\"idempotency_key\":\"\"}").status());
    assertEquals(
        422, post("/v1/jobs", "a", "{\"type\":\"echo\",\"idempotency_key\":\"b\"}").status());
    var twice =
        http.send(
            HttpRequest.newBuilder(URI.create(running.base + "/v1/jobs"))
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", "a")
                .header("Idempotency-Key", "b")
                .POST(HttpRequest.BodyPublishers.ofString("{\"type\":\"echo\"}")));
    assertEquals(400, twice.status(), twice.raw().body());
    assertEquals(Problem.CONTENT_TYPE, twice.header("Content-Type"));
    assertEquals(202, http.post("/v1/jobs", "{\"type\":\"echo\"}").status(), "still serving");
  }

  @Test
  void anExpiredKeyNamesANewJob() throws Exception {
    try (var shortLived =
        TestGateway.start(
            IdempotencyTest.class, Map.of("SPOOL_IDEMPOTENCY_TTL_SECS", "1"), "echo")) {
      var client = shortLived.http;
      String body = "{\"type\":\"echo\",\"idempotency_key\":\"daily-report\"}";
      var first = client.post("/v1/jobs", body);
      assertEquals(202, first.status());
      assertEquals(200, client.post("/v1/jobs", body).status());
      Thread.sleep(1500);
      var later = client.post("/v1/jobs", body);
      assertEquals(202, later.status(), later.raw().body());
      assertNotEquals(first.json().get("id"), later.json().get("id"));
      assertEquals(
          List.of(later.json().get("id").asText()),
          List.of(client.post("/v1/jobs", body).json().get("id").asText()));
    }
  }
}
