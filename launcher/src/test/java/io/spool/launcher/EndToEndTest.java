package io.spool.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spool.model.JobJson;
import io.spool.testing.Eventually;
import io.spool.testing.HttpJson;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The whole path through real processes: a gateway JVM and two worker JVMs on real Redis and
 * Postgres.
 */
class EndToEndTest {
  static ProcessCluster cluster;
  static HttpJson http;

  @BeforeAll
  static void start() {
    cluster = ProcessCluster.start(EndToEndTest.class, Map.of("SPOOL_WORKER_CONCURRENCY", "16"), 2);
    http = cluster.http;
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  @Test
  void jobGoesFromGatewayThroughAWorkerProcessToItsResult() {
    var submitted =
        http.post(
            "/v1/jobs", "{\"type\":\"echo\",\"request\":{\"message\":\"through processes\"}}");
    assertEquals(202, submitted.status(), submitted.raw().body());
    String location = submitted.header("Location");
    Eventually.await(
        "the echo job completed",
        Duration.ofSeconds(30),
        () -> http.get(location).json().get("status").asText().equals("completed"));
    var job = http.get(location).json();
    assertEquals("through processes", job.get("result").get("message").asText());
    assertEquals(1, job.get("attempts").asInt());
  }

  @Test
  void twoThousandJobsAcrossTwoWorkerProcessesEachRunExactlyOnce() throws Exception {
    var ids = new HashMap<String, Integer>();
    for (int batch = 0; batch < 2; batch++) {
      var body = JobJson.MAPPER.createObjectNode();
      var jobs = body.putArray("jobs");
      for (int i = 0; i < 1000; i++) {
        jobs.addObject().put("type", "record").putObject("request").put("n", batch * 1000 + i);
      }
      var accepted = http.post("/v1/jobs/batch", JobJson.encode(body));
      assertEquals(202, accepted.status(), accepted.raw().body());
      accepted
          .json()
          .get("jobs")
          .forEach(job -> ids.put(job.get("id").asText(), job.get("request").get("n").asInt()));
    }
    assertEquals(2000, ids.size());

    Eventually.await(
        "all 2,000 jobs completed", Duration.ofMinutes(2), () -> completedOf("record") == 2000);

    var runsPerJob = new HashMap<String, Integer>();
    var runsPerWorker = new ArrayList<Integer>();
    for (Path runLog : cluster.runLogs) {
      List<String> lines = Files.readAllLines(runLog);
      runsPerWorker.add(lines.size());
      for (String line : lines) {
        runsPerJob.merge(line.split(" ")[0], 1, Integer::sum);
      }
    }
    assertEquals(ids.keySet(), runsPerJob.keySet(), "every job ran");
    var repeated =
        runsPerJob.entrySet().stream()
            .filter(e -> e.getValue() != 1)
            .map(Map.Entry::getKey)
            .collect(Collectors.toList());
    assertTrue(repeated.isEmpty(), "jobs that ran more than once: " + repeated);
    assertTrue(
        runsPerWorker.get(0) > 0 && runsPerWorker.get(1) > 0,
        "both workers took work: " + runsPerWorker);

    // Spot-check results through the API: n doubled.
    ids.entrySet().stream()
        .limit(50)
        .forEach(
            e -> {
              var job = http.get("/v1/jobs/" + e.getKey()).json();
              assertEquals("completed", job.get("status").asText());
              assertEquals(e.getValue() * 2L, job.get("result").get("n").asLong());
              assertEquals(1, job.get("attempts").asInt());
            });
  }

  private static int completedOf(String type) {
    int count = 0;
    String cursor = null;
    do {
      var page =
          http.get(
                  "/v1/jobs?status=completed&type="
                      + type
                      + "&limit=500"
                      + (cursor == null ? "" : "&cursor=" + cursor))
              .json();
      count += page.get("jobs").size();
      cursor = page.get("next_cursor").isNull() ? null : page.get("next_cursor").asText();
    } while (cursor != null);
    return count;
  }
}
