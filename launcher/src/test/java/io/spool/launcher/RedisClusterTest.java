package io.spool.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spool.signal.Keys;
import io.spool.testing.Eventually;
import io.spool.testing.HttpJson;
import io.spool.testing.PgBouncer;
import io.spool.testing.RedisClusterServers;
import io.spool.testing.TestServices;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The multi-node rehearsal as a test (deploy/local-cluster/rehearse.sh is the same for a user):
 * Spool on a real Redis Cluster (three masters, a replica each, a password), two gateways and three
 * workers, a queue over three shards, every Postgres statement through PgBouncer in transaction
 * mode. Jobs run exactly once, Spool's keys spread over every master, events stream across
 * gateways, and a master killed mid-run fails over to its replica without a job lost or run twice.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RedisClusterTest {
  static RedisClusterServers redis;
  static PgBouncer pgbouncer;
  static ProcessCluster spool;
  static HttpJson second;
  static Keys keys;

  @BeforeAll
  static void start() {
    redis = RedisClusterServers.start("cluster-test-password");
    String schema = TestServices.isolatedEnv(RedisClusterTest.class).get("SPOOL_PG_SCHEMA");
    pgbouncer = PgBouncer.inFrontOf(TestServices.pgUrl(), schema, 4);
    spool =
        ProcessCluster.start(
            RedisClusterTest.class,
            Map.of(
                "SPOOL_PG_SCHEMA", schema,
                "SPOOL_REDIS_MODE", "cluster",
                "SPOOL_REDIS_URL", redis.url(),
                "SPOOL_QUEUE_SHARDS", "3",
                "SPOOL_WORKER_CONCURRENCY", "16"),
            Map.of(
                "SPOOL_PG_URL", pgbouncer.url(),
                "SPOOL_PG_POOLER", "transaction",
                "SPOOL_PG_DIRECT_URL", TestServices.pgUrl()),
            3);
    second = spool.addGateway();
    keys = spool.config.keys();
  }

  @AfterAll
  static void stop() {
    if (spool != null) {
      spool.close();
    }
    if (redis != null) {
      redis.close();
    }
    if (pgbouncer != null) {
      pgbouncer.close();
    }
  }

  @Test
  @Order(1)
  void thousandsOfJobsThroughTwoGatewaysRunExactlyOnceWithKeysOnEveryMaster() {
    List<String> ids = new ArrayList<>();
    for (int batch = 0; batch < 4; batch++) {
      ids.addAll(Jobs.submitBatch(batch % 2 == 0 ? spool.http : second, 750, "record", batch));
    }
    assertEquals(3000, ids.size());
    Eventually.await(
        "all 3,000 jobs completed",
        Duration.ofMinutes(2),
        () -> spool.countJobs("completed", "record") == 3000);
    Jobs.assertRanOnce(spool, ids);
    assertTrue(pgbouncer.queryCount() > 3000, "the statements went through PgBouncer");

    Map<Integer, Long> perMaster = redis.keysPerMaster("{" + keys.prefix() + "/*");
    assertEquals(3, perMaster.size());
    perMaster.forEach(
        (port, count) -> assertTrue(count > 0, "no Spool key on the master on " + port));
    // A shard's streams, delayed set and epoch share one slot: its scripts never cross slots.
    var mastersOfShards = new java.util.TreeSet<Integer>();
    for (int shard = 0; shard < 3; shard++) {
      int slot = redis.slotOf(keys.queueStream("default", shard, "record", 1));
      assertEquals(slot, redis.slotOf(keys.queueStream("default", shard, "record")));
      assertEquals(slot, redis.slotOf(keys.delayed("default", shard)));
      assertEquals(slot, redis.slotOf(keys.epoch("default", shard)));
      mastersOfShards.add(redis.masterOf(keys.queueTag("default", shard)).port());
    }
    assertEquals(3, mastersOfShards.size(), "3 shards use the 3 masters: " + mastersOfShards);
  }

  @Test
  @Order(2)
  void eventsStreamToASubscriberOnTheOtherGateway() throws Exception {
    String id = second.submit("{\"type\":\"sleep\",\"request\":{\"ms\":800}}");
    var frames = Sse.read(spool.http.baseUrl() + "/v1/jobs/" + id + "/events", null);
    assertEquals("end", frames.getLast().event(), frames.toString());
    assertTrue(
        frames.stream()
            .anyMatch(f -> f.data().path("data").path("status").asText().equals("running")),
        frames.toString());
  }

  @Test
  @Order(3)
  void aMasterKilledMidRunFailsOverAndEveryJobStillRunsExactlyOnce() throws Exception {
    // Subscribers to jobs whose events live on the master about to die.
    List<String> followed = new ArrayList<>();
    while (followed.size() < 3) {
      String id = spool.http.submit("{\"type\":\"sleep\",\"request\":{\"ms\":4000}}");
      if (redis.masterOf(keys.jobTag(UUID.fromString(id))).port()
          == redis.masterOf(keys.queueTag("default", 0)).port()) {
        followed.add(id);
      }
    }
    var streams = new ArrayList<CompletableFuture<List<Sse.Frame>>>();
    for (String id : followed) {
      streams.add(Sse.readAsync(second.baseUrl() + "/v1/jobs/" + id + "/events"));
    }

    List<String> ids = new ArrayList<>(Jobs.submitBatch(spool.http, 500, "record", 100));
    var killed = redis.killMasterOf(keys.queueTag("default", 0));
    ids.addAll(Jobs.submitBatch(second, 500, "record", 101));
    redis.awaitFailover(killed, Duration.ofSeconds(30));
    ids.addAll(Jobs.submitBatch(spool.http, 500, "record", 102));

    Eventually.await(
        "every job submitted around the failover completed",
        Duration.ofMinutes(2),
        () -> spool.countJobs("completed", "record") == 3000 + ids.size());
    Jobs.assertRanOnce(spool, ids);
    for (var stream : streams) {
      List<Sse.Frame> frames = stream.get(90, TimeUnit.SECONDS);
      assertEquals("end", frames.getLast().event(), "a subscriber got the end: " + frames);
    }
    for (String id : followed) {
      assertEquals("completed", spool.http.get("/v1/jobs/" + id).json().get("status").asText());
    }
  }
}
