package io.spool.worker;

import static io.spool.testing.JobFixtures.aJob;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spool.config.SpoolConfig;
import io.spool.model.Job;
import io.spool.model.JobStatus;
import io.spool.signal.Keys;
import io.spool.signal.RedisClients;
import io.spool.store.PgClients;
import io.spool.testing.Eventually;
import io.spool.testing.JobFixtures;
import io.spool.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.sqlclient.SqlClient;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class WorkerTest {
  static SpoolConfig config;
  static Worker worker;
  static Vertx vertx;
  static SqlClient pg;
  static Redis redis;
  static Keys keys;

  @BeforeAll
  static void start() {
    var env = TestServices.isolatedEnv(WorkerTest.class);
    env.put("SPOOL_QUEUES", "default,second");
    env.put("SPOOL_WORKER_CONCURRENCY", "4");
    config = SpoolConfig.fromEnv(env);
    worker = Worker.start(config);
    vertx = Vertx.vertx();
    pg = PgClients.client(vertx, config);
    redis = RedisClients.client(vertx, config, 2);
    keys = config.keys();
  }

  @AfterAll
  static void stop() {
    worker.close();
    vertx.close().await();
    TestServices.cleanUp(config);
  }

  private static Job awaitFinished(UUID id) {
    Eventually.await(
        "job " + id + " finished",
        Duration.ofSeconds(20),
        () -> JobFixtures.load(pg, id).orElseThrow().status().isFinished());
    return JobFixtures.load(pg, id).orElseThrow();
  }

  @Test
  void echoJobRunsOnceAndItsSignalIsAcknowledgedAndDeleted() {
    UUID id = aJob("echo").withRequest("{\"say\":\"hi\"}").submit(pg, redis, keys);
    Job job = awaitFinished(id);
    assertEquals(JobStatus.COMPLETED, job.status());
    assertEquals("hi", job.result().get("say").asText());
    assertEquals(1, job.attempts());
    assertTrue(
        !job.startedAt().isBefore(job.submittedAt())
            && !job.finishedAt().isBefore(job.startedAt()));
    Eventually.await(
        "the stream is empty",
        Duration.ofSeconds(5),
        () ->
            redis
                    .send(Request.cmd(Command.XLEN).arg(keys.queueStream("default", "echo")))
                    .await()
                    .toLong()
                == 0L);
  }

  @Test
  void consumesEveryConfiguredQueue() {
    UUID id = aJob("echo").inQueue("second").submit(pg, redis, keys);
    assertEquals(JobStatus.COMPLETED, awaitFinished(id).status());
  }

  @Test
  void sleepSleepsInStepsAndReportsHowLong() {
    UUID id = aJob("sleep").withRequest("{\"ms\":60,\"steps\":4}").submit(pg, redis, keys);
    Job job = awaitFinished(id);
    assertEquals(JobStatus.COMPLETED, job.status());
    assertEquals(60, job.result().get("slept_ms").asInt());
    assertTrue(Duration.between(job.startedAt(), job.finishedAt()).toMillis() >= 60);
  }

  @Test
  void handlerExceptionFailsTheJobWithItsMessage() {
    UUID id =
        aJob("sleep").withRequest("{\"ms\":\"soon\"}").withMaxAttempts(1).submit(pg, redis, keys);
    Job job = awaitFinished(id);
    assertEquals(JobStatus.FAILED, job.status());
    assertTrue(job.error().contains("'ms' must be a whole number"), job.error());
    assertNull(job.result());
  }

  @Test
  void unstorableResultFailsOnlyItsOwnJobWithAClearError() {
    UUID bad = aJob("nul").withMaxAttempts(1).submit(pg, redis, keys);
    UUID good = aJob("echo").withRequest("{\"fine\":true}").submit(pg, redis, keys);
    Job failed = awaitFinished(bad);
    assertEquals(JobStatus.FAILED, failed.status());
    assertTrue(failed.error().contains("U+0000"), failed.error());
    assertNull(failed.result());
    assertEquals(JobStatus.COMPLETED, awaitFinished(good).status());
  }

  @Test
  void duplicateSignalsRunAJobOnce() {
    UUID id = aJob("echo").insert(pg);
    for (int i = 0; i < 3; i++) {
      JobFixtures.signal(redis, keys, "default", "echo", id);
    }
    assertEquals(1, awaitFinished(id).attempts());
    Eventually.await(
        "all three signals settled",
        Duration.ofSeconds(5),
        () ->
            redis
                    .send(Request.cmd(Command.XLEN).arg(keys.queueStream("default", "echo")))
                    .await()
                    .toLong()
                == 0L);
    assertEquals(1, JobFixtures.load(pg, id).orElseThrow().attempts());
  }

  @Test
  void jobsOfQueuesNotConsumedWaitPending() throws Exception {
    UUID id = aJob("echo").inQueue("elsewhere").submit(pg, redis, keys);
    Thread.sleep(300);
    assertEquals(JobStatus.PENDING, JobFixtures.load(pg, id).orElseThrow().status());
  }
}
