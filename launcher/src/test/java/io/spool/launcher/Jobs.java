package io.spool.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spool.model.JobJson;
import io.spool.testing.HttpJson;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Submitting test jobs in bulk, and checking how often they ran. */
final class Jobs {
  private Jobs() {}

  /** Submits {@code count} jobs of {@code type} in one batch; answers their ids. */
  static List<String> submitBatch(HttpJson gateway, int count, String type, int batch) {
    var body = JobJson.MAPPER.createObjectNode();
    var jobs = body.putArray("jobs");
    for (int i = 0; i < count; i++) {
      jobs.addObject().put("type", type).putObject("request").put("n", batch * 10_000 + i);
    }
    var accepted = gateway.post("/v1/jobs/batch", JobJson.encode(body));
    assertEquals(202, accepted.status(), accepted.raw().body());
    var ids = new ArrayList<String>();
    accepted.json().get("jobs").forEach(job -> ids.add(job.get("id").asText()));
    return ids;
  }

  /** Every one of these {@code record} jobs ran exactly once, by the cluster's run logs. */
  static void assertRanOnce(ProcessCluster cluster, List<String> ids) {
    Map<String, Integer> runs = RunLog.runsPerJob(cluster.runLogs);
    var wrong = new ArrayList<String>();
    for (String id : ids) {
      int times = runs.getOrDefault(id, 0);
      if (times != 1) {
        wrong.add(id + " ran " + times + " times");
      }
    }
    assertTrue(
        wrong.isEmpty(),
        wrong.size() + " jobs did not run exactly once, e.g. " + wrong.stream().limit(5).toList());
  }
}
