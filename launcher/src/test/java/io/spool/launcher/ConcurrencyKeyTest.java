package io.spool.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spool.testing.Eventually;
import io.spool.testing.HttpJson;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Concurrency keys across two worker processes: one at a time per key, in submission order. */
class ConcurrencyKeyTest {
  static ProcessCluster cluster;
  static HttpJson http;

  @BeforeAll
  static void start() {
    cluster = ProcessCluster.start(ConcurrencyKeyTest.class, Map.of(), 2);
    http = cluster.http;
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  private static String submit(String json) {
    return http.submit(json);
  }

  private record Run(String jobId, long start, long end) {}

  @Test
  void jobsOfOneKeyNeverOverlapAndRunInSubmissionOrderWhileKeysRunInParallel() {
    Map<String, List<String>> submittedByKey = new HashMap<>();
    var all = new ArrayList<String>();
    for (int round = 0; round < 5; round++) {
      for (String key : List.of("conv-a", "conv-b", "conv-c")) {
        String id =
            submit(
                "{\"type\":\"chaos\",\"concurrency_key\":\""
                    + key
                    + "\",\"request\":{\"ms\":150,\"n\":"
                    + round
                    + "}}");
        submittedByKey.computeIfAbsent(key, k -> new ArrayList<>()).add(id);
        all.add(id);
      }
    }
    Eventually.await(
        "all 15 jobs completed",
        Duration.ofSeconds(60),
        () ->
            all.stream()
                .allMatch(
                    id ->
                        http.get("/v1/jobs/" + id)
                            .json()
                            .get("status")
                            .asText()
                            .equals("completed")));

    Map<String, Run> runs = new HashMap<>();
    Map<String, Long> starts = new HashMap<>();
    for (String[] line : RunLog.lines(cluster.runLogs)) {
      // job-id start|end attempt pid millis
      if (line[1].equals("start")) {
        starts.put(line[0], Long.parseLong(line[4]));
      } else {
        runs.put(line[0], new Run(line[0], starts.get(line[0]), Long.parseLong(line[4])));
      }
    }
    var pids = new java.util.HashSet<String>();
    RunLog.lines(cluster.runLogs).forEach(line -> pids.add(line[3]));
    assertEquals(2, pids.size(), "both worker processes ran jobs");
    for (var entry : submittedByKey.entrySet()) {
      List<Run> ordered = entry.getValue().stream().map(runs::get).toList();
      for (int i = 1; i < ordered.size(); i++) {
        assertTrue(
            ordered.get(i).start() >= ordered.get(i - 1).end(),
            entry.getKey()
                + ": job "
                + i
                + " started before job "
                + (i - 1)
                + " of the same key ended: "
                + ordered);
      }
    }
    boolean keysOverlapped = false;
    List<Run> a = submittedByKey.get("conv-a").stream().map(runs::get).toList();
    List<Run> b = submittedByKey.get("conv-b").stream().map(runs::get).toList();
    for (Run x : a) {
      for (Run y : b) {
        keysOverlapped |= x.start() < y.end() && y.start() < x.end();
      }
    }
    assertTrue(keysOverlapped, "jobs of different keys ran at the same time");
  }

  @Test
  void rejectStrategyRefusesWhileTheKeyIsBusyAndAcceptsOnceItIsFree() {
    String first =
        submit("{\"type\":\"sleep\",\"concurrency_key\":\"thread-9\",\"request\":{\"ms\":1500}}");
    var refused =
        http.post(
            "/v1/jobs",
            "{\"type\":\"echo\",\"concurrency_key\":\"thread-9\",\"concurrency_strategy\":\"reject\"}");
    assertEquals(409, refused.status(), refused.raw().body());
    assertTrue(refused.raw().body().contains("thread-9"), refused.raw().body());
    var queued = http.post("/v1/jobs", "{\"type\":\"echo\",\"concurrency_key\":\"thread-9\"}");
    assertEquals(202, queued.status(), "enqueue (the default) waits its turn");
    Eventually.await(
        "both jobs of the key completed",
        Duration.ofSeconds(30),
        () ->
            http.get("/v1/jobs/" + first).json().get("status").asText().equals("completed")
                && http.get("/v1/jobs/" + queued.json().get("id").asText())
                    .json()
                    .get("status")
                    .asText()
                    .equals("completed"));
    var accepted =
        http.post(
            "/v1/jobs",
            "{\"type\":\"echo\",\"concurrency_key\":\"thread-9\",\"concurrency_strategy\":\"reject\"}");
    assertEquals(202, accepted.status(), accepted.raw().body());
  }
}
