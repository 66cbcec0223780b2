package io.spool.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spool.testing.Eventually;
import io.spool.testing.HttpJson;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The queue cap and the per-user rate limit answer 429 with Retry-After and leave nothing behind.
 */
class BackpressureTest {
  private static final String ALICE_KEY = "alice-key-0123456789abcdef";
  private static final String BOB_KEY = "bob-key-0123456789abcdef";

  private static void assertTooMany(HttpJson.Response response, String problemType) {
    assertEquals(429, response.status(), response.raw().body());
    assertEquals("application/problem+json", response.header("Content-Type"));
    assertTrue(
        Integer.parseInt(response.header("Retry-After")) >= 1, response.header("Retry-After"));
    assertEquals("urn:spool:problem:" + problemType, response.json().get("type").asText());
  }

  private static int jobsOf(HttpJson as) {
    return as.get("/v1/jobs?limit=500").json().get("jobs").size();
  }

  @Test
  void submissionsPastTheQueueLimitAre429AndStoreNothing() {
    // The worker reads only 'default'; these wait in a queue nobody reads.
    try (var spool =
        InProcessSpool.start(BackpressureTest.class, Map.of("SPOOL_QUEUE_LIMIT", "5"))) {
      for (int i = 0; i < 4; i++) {
        spool.http.submit("{\"type\":\"echo\",\"queue\":\"parked\"}");
      }
      assertTooMany(
          spool.http.post(
              "/v1/jobs/batch",
              "{\"jobs\":[{\"type\":\"echo\",\"queue\":\"parked\"},"
                  + "{\"type\":\"echo\",\"queue\":\"parked\"}]}"),
          "queue-full");
      spool.http.submit("{\"type\":\"echo\",\"queue\":\"parked\"}");
      assertTooMany(
          spool.http.post("/v1/jobs", "{\"type\":\"echo\",\"queue\":\"parked\"}"), "queue-full");
      assertEquals(5, jobsOf(spool.http), "the refused submissions stored nothing");
      assertEquals(200, spool.http.get("/v1/jobs?limit=1").status(), "reads go on");
    }
  }

  @Test
  void eachUserIsHeldToTheRateLimitAndOthersAreNot() {
    try (var spool =
        InProcessSpool.start(
            BackpressureTest.class,
            Map.of(
                "SPOOL_AUTH",
                "keys",
                "SPOOL_API_KEYS",
                ALICE_KEY + "=alice," + BOB_KEY + "=bob",
                "SPOOL_RATE_LIMIT",
                "2",
                "SPOOL_RATE_BURST",
                "4"))) {
      String base = "http://127.0.0.1:" + spool.config.gateway().port();
      var alice = new HttpJson(base, ALICE_KEY);
      var bob = new HttpJson(base, BOB_KEY);
      for (int i = 0; i < 4; i++) {
        assertEquals(
            202,
            alice.post("/v1/jobs", "{\"type\":\"echo\",\"queue\":\"parked\"}").status(),
            "within the burst");
      }
      assertTooMany(
          alice.post("/v1/jobs", "{\"type\":\"echo\",\"queue\":\"parked\"}"), "rate-limited");
      assertTooMany(alice.get("/v1/jobs"), "rate-limited");
      assertEquals(200, bob.get("/v1/jobs").status(), "another user has a bucket of their own");
      Eventually.await(
          "alice's bucket refills",
          Duration.ofSeconds(10),
          () -> {
            var list = alice.get("/v1/jobs?limit=500");
            if (list.status() != 200) {
              return false;
            }
            assertEquals(
                4, list.json().get("jobs").size(), "the refused submission stored nothing");
            return true;
          });
    }
  }

  @Test
  void withRedisAwayEachGatewayStillLimits() {
    try (var spool =
        InProcessSpool.start(
            BackpressureTest.class,
            Map.of(
                "SPOOL_REDIS_URL",
                "redis://127.0.0.1:1",
                "SPOOL_RATE_LIMIT",
                "1",
                "SPOOL_RATE_BURST",
                "3"))) {
      for (int i = 0; i < 3; i++) {
        assertEquals(200, spool.http.get("/v1/jobs").status());
      }
      assertTooMany(spool.http.get("/v1/jobs"), "rate-limited");
    }
  }
}
