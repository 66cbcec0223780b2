package io.spool.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spool.model.JobJson;
import io.spool.testing.Eventually;
import io.spool.testing.HttpJson;
import io.spool.testing.RedisServer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Redis stopped and started again (empty) under a running gateway and two worker processes. */
class RedisOutageTest {
  static RedisServer redis;
  static ProcessCluster cluster;
  static HttpJson http;

  @BeforeAll
  static void start() {
    redis = RedisServer.start();
    cluster =
        ProcessCluster.start(RedisOutageTest.class, Map.of("SPOOL_REDIS_URL", redis.url()), 2);
    http = cluster.http;
  }

  @AfterAll
  static void stop() {
    cluster.close();
    redis.close();
  }

  private static List<String> submitBatch(int count, String label) {
    var body = JobJson.MAPPER.createObjectNode();
    var jobs = body.putArray("jobs");
    for (int i = 0; i < count; i++) {
      jobs.addObject().put("type", "record").putObject("request").put("n", i).put("phase", label);
    }
    var accepted = http.post("/v1/jobs/batch", JobJson.encode(body));
    assertEquals(202, accepted.status(), label + ": " + accepted.raw().body());
    var ids = new ArrayList<String>();
    accepted.json().get("jobs").forEach(job -> ids.add(job.get("id").asText()));
    return ids;
  }

  private static void awaitAllCompleted(List<String> ids, String what) {
    Eventually.await(
        what,
        Duration.ofSeconds(60),
        () ->
            ids.stream()
                .allMatch(
                    id ->
                        http.get("/v1/jobs/" + id)
                            .json()
                            .get("status")
                            .asText()
                            .equals("completed")));
  }

  @Test
  void everyJobCompletesOnceThroughARedisOutageAndAnEmptyRestart() {
    Set<String> all = new HashSet<>();
    var before = submitBatch(50, "before");
    awaitAllCompleted(before, "jobs before the outage completed");
    all.addAll(before);

    redis.stop();
    var during = new ArrayList<String>();
    for (int i = 0; i < 5; i++) {
      during.addAll(submitBatch(20, "during"));
      var single = http.post("/v1/jobs", "{\"type\":\"record\",\"request\":{\"n\":-1}}");
      assertEquals(
          202, single.status(), "the gateway accepts while Redis is down: " + single.raw().body());
      during.add(single.json().get("id").asText());
    }
    var delayedDuringOutage =
        http.post(
            "/v1/jobs",
            "{\"type\":\"record\",\"request\":{\"n\":-3},\"delay_secs\":2,\"priority\":3}");
    String delayedDuring = delayedDuringOutage.json().get("id").asText();
    during.add(delayedDuring);
    var health = http.get("/health/ready");
    assertEquals(200, health.status(), "Postgres answers: still ready");
    assertEquals("degraded", health.json().get("status").asText());
    awaitAllCompleted(
        during, "jobs submitted while Redis was down completed (claimed from Postgres)");
    all.addAll(during);
    var scheduled = http.get("/v1/jobs/" + delayedDuring).json();
    assertTrue(
        !Instant.parse(scheduled.get("started_at").asText())
            .isBefore(Instant.parse(scheduled.get("run_at").asText())),
        "a delayed job is not started early in the Postgres-only mode either: " + scheduled);

    redis.startAgain(); // empty: no streams, no groups, no consumers
    var after = submitBatch(50, "after");
    awaitAllCompleted(after, "jobs after Redis came back completed");
    all.addAll(after);
    for (SpoolProcess worker : cluster.workers) {
      Eventually.await(
          "the worker noticed Redis is back",
          Duration.ofSeconds(30),
          () -> worker.output().contains("Redis is back"));
    }
    var delayed =
        http.post("/v1/jobs", "{\"type\":\"record\",\"request\":{\"n\":-2},\"delay_secs\":1}");
    String delayedId = delayed.json().get("id").asText();
    awaitAllCompleted(List.of(delayedId), "a delayed job after the restart completed");
    all.add(delayedId);

    Map<String, Integer> runs = RunLog.runsPerJob(cluster.runLogs);
    assertEquals(all, runs.keySet(), "every job ran");
    var twice =
        runs.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).toList();
    assertTrue(twice.isEmpty(), "jobs run more than once: " + twice);
    assertTrue(
        cluster.workers.stream()
            .anyMatch(w -> w.output().contains("claiming straight from Postgres")));
  }
}
