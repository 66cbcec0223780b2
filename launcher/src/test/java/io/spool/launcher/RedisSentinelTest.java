package io.spool.launcher;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spool.testing.Eventually;
import io.spool.testing.RedisSentinelServers;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Spool on a Redis watched by three Sentinels (a master with a password and its replica): the
 * master is killed while jobs flow, the Sentinels promote the replica, and Spool follows it: every
 * job submitted before, during and after the failover runs exactly once, and Spool's signals are on
 * the new master afterwards.
 */
class RedisSentinelTest {
  static RedisSentinelServers redis;
  static ProcessCluster spool;

  @BeforeAll
  static void start() {
    redis = RedisSentinelServers.start("sentinel-test-password");
    spool =
        ProcessCluster.start(
            RedisSentinelTest.class,
            Map.of(
                "SPOOL_REDIS_MODE",
                "sentinel",
                "SPOOL_REDIS_URL",
                redis.url(),
                "SPOOL_REDIS_MASTER",
                redis.masterName(),
                "SPOOL_WORKER_CONCURRENCY",
                "16"),
            2);
  }

  @AfterAll
  static void stop() {
    if (spool != null) {
      spool.close();
    }
    if (redis != null) {
      redis.close();
    }
  }

  @Test
  void spoolFollowsTheNewMasterAfterAFailoverAndLosesNoJob() throws Exception {
    List<String> ids = new ArrayList<>(Jobs.submitBatch(spool.http, 500, "record", 0));
    Eventually.await(
        "the first jobs completed",
        Duration.ofSeconds(60),
        () -> spool.countJobs("completed") == 500);
    int oldMaster = redis.masterPort();
    assertTrue(
        redis.client(oldMaster).call("DBSIZE") instanceof Long size && size > 0,
        "Spool's keys are on the master");

    redis.killMaster();
    // Jobs submitted while the Sentinels decide: the gateway answers from Postgres, and the
    // workers claim from Postgres until Redis is back.
    for (int batch = 1; batch <= 3; batch++) {
      ids.addAll(Jobs.submitBatch(spool.http, 200, "record", batch));
    }
    int newMaster = redis.awaitFailover(Duration.ofSeconds(30));
    assertNotEquals(oldMaster, newMaster);
    for (int batch = 4; batch <= 6; batch++) {
      ids.addAll(Jobs.submitBatch(spool.http, 200, "record", batch));
    }

    Eventually.await(
        "every job completed",
        Duration.ofMinutes(2),
        () -> spool.countJobs("completed") == ids.size());
    Jobs.assertRanOnce(spool, ids);
    // Spool writes to the promoted master now: a new job's events are there.
    String id = spool.http.submit("{\"type\":\"echo\",\"request\":{}}");
    Eventually.await(
        "a job after the failover completed",
        Duration.ofSeconds(30),
        () -> spool.http.get("/v1/jobs/" + id).json().get("status").asText().equals("completed"));
    Eventually.await(
        "its events are on the new master",
        Duration.ofSeconds(10),
        () ->
            redis
                        .client(newMaster)
                        .call(
                            "EXISTS", spool.config.keys().jobEvents(java.util.UUID.fromString(id)))
                    instanceof Long n
                && n == 1);
  }
}
