package io.spool.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spool.testing.HttpJson;
import io.spool.testing.TestServices;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A gateway and remote workers only, no Java worker: a delayed job's signal is promoted by the
 * gateway when it falls due, so a remote worker's waiting claim gets it then, not at the safety
 * net's next Postgres claim (half the visibility timeout, here 30 s, later).
 */
class RemoteOnlyDelaysTest {
  private static final String WORKER_KEY = "remote-only-worker-key-0123456789";
  static TestGateway gateway;
  static HttpJson worker;

  @BeforeAll
  static void start() {
    gateway =
        TestGateway.start(
            RemoteOnlyDelaysTest.class,
            Map.of(
                "SPOOL_AUTH", "none",
                "SPOOL_WORKER_KEYS", WORKER_KEY + "=agents",
                "SPOOL_VISIBILITY_TIMEOUT_SECS", "60"),
            "agent");
    worker = new HttpJson(gateway.base, WORKER_KEY);
  }

  @AfterAll
  static void stop() {
    gateway.close();
    TestServices.cleanUp(gateway.config);
  }

  @Test
  void aDelayedJobReachesAWaitingRemoteWorkerWhenItFallsDue() {
    var registered =
        worker.post(
            "/v1/workers",
            "{\"types\":[\"agent\"],\"queues\":[\"remote-only\"],\"concurrency\":1,\"name\":\"r\"}");
    assertEquals(201, registered.status(), registered.raw().body());
    String wid = registered.json().get("worker_id").asText();
    // Its first claim makes the safety-net claim from Postgres; the next waits on the stream.
    assertEquals(
        0,
        worker
            .post("/v1/workers/" + wid + "/claim", "{\"wait_secs\":0}")
            .json()
            .get("jobs")
            .size());

    var submitted =
        gateway.http.post(
            "/v1/jobs", "{\"type\":\"agent\",\"queue\":\"remote-only\",\"delay_secs\":2}");
    assertEquals(202, submitted.status(), submitted.raw().body());
    String id = submitted.json().get("id").asText();
    long start = System.nanoTime();
    var claimed = worker.post("/v1/workers/" + wid + "/claim", "{\"max\":1,\"wait_secs\":20}");
    long millis = (System.nanoTime() - start) / 1_000_000;
    assertEquals(200, claimed.status(), claimed.raw().body());
    assertEquals(
        1, claimed.json().get("jobs").size(), "claimed within the wait: " + claimed.json());
    assertEquals(id, claimed.json().get("jobs").get(0).get("id").asText());
    assertTrue(millis >= 1500, "not before it was due: " + millis + " ms");
    assertTrue(millis < 10_000, "promoted when due, not at the safety net: " + millis + " ms");
  }
}
