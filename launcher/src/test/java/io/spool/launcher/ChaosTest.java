package io.spool.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spool.model.JobJson;
import io.spool.store.PgClients;
import io.spool.testing.HttpJson;
import io.spool.testing.RedisServer;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A few hundred multi-step jobs while worker processes are SIGKILLed every two seconds (and
 * replaced) and Redis is restarted empty once: every job completes, no attempt runs twice.
 */
class ChaosTest {
  static final int JOBS = 300;
  static final int WORKERS = 3;
  static RedisServer redis;
  static ProcessCluster cluster;
  static HttpJson http;
  static Vertx vertx;
  static SqlClient pg;

  @BeforeAll
  static void start() {
    redis = RedisServer.start();
    cluster =
        ProcessCluster.start(
            ChaosTest.class,
            Map.of(
                "SPOOL_REDIS_URL",
                redis.url(),
                "SPOOL_VISIBILITY_TIMEOUT_SECS",
                "3",
                "SPOOL_HEARTBEAT_SECS",
                "1",
                "SPOOL_WORKER_CONCURRENCY",
                "16"),
            WORKERS);
    http = cluster.http;
    vertx = Vertx.vertx();
    pg = PgClients.client(vertx, cluster.config);
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
    cluster.close();
    redis.close();
  }

  @Test
  void everyJobCompletesOnceThroughKilledWorkersAndARedisRestart() throws Exception {
    var random = new Random(42);
    var expected = new HashMap<String, Integer>();
    for (int batch = 0; batch < JOBS / 100; batch++) {
      var body = JobJson.MAPPER.createObjectNode();
      var jobs = body.putArray("jobs");
      for (int i = 0; i < 100; i++) {
        int n = batch * 100 + i;
        jobs.addObject()
            .put("type", "chaos")
            .put("max_attempts", 20)
            .putObject("request")
            .put("ms", 400 + random.nextInt(1200))
            .put("steps", 4)
            .put("n", n);
      }
      var accepted = http.post("/v1/jobs/batch", JobJson.encode(body));
      assertEquals(202, accepted.status(), accepted.raw().body());
      accepted
          .json()
          .get("jobs")
          .forEach(
              job -> expected.put(job.get("id").asText(), job.get("request").get("n").asInt()));
    }

    var kills = new ArrayList<long[]>(); // {pid, epoch millis}
    long deadline = System.nanoTime() + Duration.ofSeconds(150).toNanos();
    boolean redisRestarted = false;
    int round = 0;
    while (completed() < JOBS) {
      assertTrue(
          System.nanoTime() < deadline, "all jobs complete within 150 s; completed " + completed());
      Thread.sleep(2000);
      round++;
      if (round == 3 && !redisRestarted) {
        redis.stop();
        Thread.sleep(1000);
        redis.startAgain();
        redisRestarted = true;
      }
      if (round <= 8) {
        SpoolProcess victim = cluster.workers.remove(random.nextInt(cluster.workers.size()));
        kills.add(new long[] {victim.pid(), System.currentTimeMillis()});
        victim.kill();
        cluster.addWorker();
      }
    }
    assertTrue(redisRestarted, "Redis was restarted during the run");

    // Every job completed with its own result.
    for (Row row :
        pg.query("SELECT id, status, result::text, attempts FROM jobs WHERE type = 'chaos'")
            .execute()
            .await()) {
      String id = row.getUUID("id").toString();
      assertEquals("completed", row.getString("status"), id);
      assertEquals(
          expected.get(id).intValue(), JobJson.tree(row.getString("result")).get("n").asInt(), id);
    }

    // No attempt of any job ran twice, and each job's counted attempt ran to its end.
    List<String[]> lines = RunLog.lines(cluster.runLogs);
    Set<String> starts = new HashSet<>();
    Set<String> ends = new HashSet<>();
    for (String[] line : lines) {
      String key = line[0] + "#" + line[2];
      if (line[1].equals("start")) {
        assertTrue(starts.add(key), "attempt started twice: " + key);
      } else {
        ends.add(key);
      }
    }
    for (Row row :
        pg.query("SELECT id, attempts FROM jobs WHERE type = 'chaos'").execute().await()) {
      String key = row.getUUID("id") + "#" + row.getInteger("attempts");
      assertTrue(ends.contains(key), "the final attempt ran to its end: " + key);
    }

    report(kills, lines);
  }

  private static long completed() {
    return pg.query("SELECT count(*) FROM jobs WHERE type = 'chaos' AND status = 'completed'")
        .execute()
        .await()
        .iterator()
        .next()
        .getLong(0);
  }

  /**
   * Prints how long jobs caught by each kill waited for their next attempt (reported, not
   * asserted).
   */
  private static void report(List<long[]> kills, List<String[]> lines) {
    Map<String, Long> startedAt = new HashMap<>();
    Map<String, Long> startPid = new HashMap<>();
    Set<String> ended = new HashSet<>();
    for (String[] line : lines) {
      String key = line[0] + "#" + line[2];
      if (line[1].equals("start")) {
        startedAt.put(key, Long.parseLong(line[4]));
        startPid.put(key, Long.parseLong(line[3]));
      } else {
        ended.add(key);
      }
    }
    var recoveries = new ArrayList<Long>();
    int rerun = 0;
    for (long[] kill : kills) {
      for (var entry : startPid.entrySet()) {
        if (entry.getValue() == kill[0] && !ended.contains(entry.getKey())) {
          String[] parts = entry.getKey().split("#");
          Long next = startedAt.get(parts[0] + "#" + (Integer.parseInt(parts[1]) + 1));
          if (next != null) {
            rerun++;
            recoveries.add(next - kill[1]);
          }
        }
      }
    }
    recoveries.sort(Long::compare);
    System.out.printf(
        "chaos: %d jobs, %d kills, %d attempts cut short and re-run; recovery after SIGKILL ms: "
            + "median %d, max %d (visibility timeout %d s)%n",
        JOBS,
        kills.size(),
        rerun,
        recoveries.isEmpty() ? 0 : recoveries.get(recoveries.size() / 2),
        recoveries.isEmpty() ? 0 : recoveries.get(recoveries.size() - 1),
        cluster.config.worker().visibilityTimeout().toSeconds());
  }
}
