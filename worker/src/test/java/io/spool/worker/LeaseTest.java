package io.spool.worker;

import static io.spool.testing.JobFixtures.aJob;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spool.attempt.AttemptFinisher;
import io.spool.attempt.AttemptFinisher.Outcome;
import io.spool.config.SpoolConfig;
import io.spool.handler.AttemptLostException;
import io.spool.model.Job;
import io.spool.model.JobJson;
import io.spool.model.JobStatus;
import io.spool.ops.SpoolMetrics;
import io.spool.signal.JobEvents;
import io.spool.signal.Keys;
import io.spool.signal.QueueSignals;
import io.spool.signal.RedisClients;
import io.spool.signal.StreamEntries;
import io.spool.store.ClaimSql;
import io.spool.store.JobRows;
import io.spool.store.Migrations;
import io.spool.store.PgClients;
import io.spool.testing.Eventually;
import io.spool.testing.JobFixtures;
import io.spool.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import io.vertx.sqlclient.templates.SqlTemplate;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Leases: silent workers lose their jobs, stale attempts cannot write, stopping workers hand back.
 */
class LeaseTest {
  static Map<String, String> env;
  static SpoolConfig config;
  static Worker worker;
  static Vertx vertx;
  static SqlClient pg;
  static Redis redis;
  static Keys keys;
  static UUID readButNeverClaimed;

  @BeforeAll
  static void start() {
    env = TestServices.isolatedEnv(LeaseTest.class);
    env.put("SPOOL_VISIBILITY_TIMEOUT_SECS", "2");
    env.put("SPOOL_HEARTBEAT_SECS", "1");
    config = SpoolConfig.fromEnv(env);
    Migrations.apply(config);
    vertx = Vertx.vertx();
    pg = PgClients.client(vertx, config);
    redis = RedisClients.client(vertx, config, 2);
    keys = config.keys();

    // Before any live worker exists, a worker that is about to die reads a signal and never claims
    // it.
    String stream = keys.queueStream("default", "echo");
    redis
        .send(
            Request.cmd(Command.XGROUP)
                .arg("CREATE")
                .arg(stream)
                .arg(Keys.GROUP)
                .arg("0")
                .arg("MKSTREAM"))
        .await();
    readButNeverClaimed = aJob("echo").withRequest("{\"taken\":\"over\"}").submit(pg, redis, keys);
    var read =
        redis
            .send(
                Request.cmd(Command.XREADGROUP)
                    .arg("GROUP")
                    .arg(Keys.GROUP)
                    .arg("doomed-reader")
                    .arg("COUNT")
                    .arg(10)
                    .arg("STREAMS")
                    .arg(stream)
                    .arg(">"))
            .await();
    assertEquals(1, StreamEntries.parse(read).size());

    worker = Worker.start(config);
  }

  @AfterAll
  static void stop() {
    worker.close();
    vertx.close().await();
    TestServices.cleanUp(config);
  }

  /**
   * A job claimed by a worker that last heartbeated an hour ago, as if it had crashed mid-run. It
   * is made in a queue no live worker reads, so the live worker's safety-net claim cannot take it
   * first, and moved to the default queue once claimed.
   */
  private static Job claimedByADeadWorker(JobFixtures job, String deadWorker) {
    UUID id = job.inQueue("parked").insert(pg);
    pg.preparedQuery(
            "INSERT INTO workers (id, queues, types, heartbeat_at) "
                + "VALUES ($1, '{default}', $2, now() - interval '1 hour')")
        .execute(
            Tuple.tuple()
                .addString(deadWorker)
                .addArrayOfString(new String[] {"echo", "sleep", "fail"}))
        .await();
    var rows =
        SqlTemplate.forQuery(pg, ClaimSql.CLAIM)
            .execute(
                Map.of(
                    "ids",
                    new UUID[] {id},
                    "worker",
                    deadWorker,
                    "types",
                    new String[] {"echo", "sleep", "fail"}))
            .await();
    Job claimed = JobRows.toJob(rows.iterator().next());
    pg.preparedQuery("UPDATE jobs SET queue = 'default' WHERE id = $1")
        .execute(Tuple.of(id))
        .await();
    return claimed;
  }

  private static Job awaitStatus(UUID id, JobStatus status) {
    Eventually.await(
        "job " + id + " is " + status,
        Duration.ofSeconds(20),
        () -> JobFixtures.load(pg, id).orElseThrow().status() == status);
    return JobFixtures.load(pg, id).orElseThrow();
  }

  @Test
  void signalReadButNeverClaimedIsTakenOverAfterTheVisibilityTimeout() {
    Job job = awaitStatus(readButNeverClaimed, JobStatus.COMPLETED);
    assertEquals("over", job.result().get("taken").asText());
    assertEquals(1, job.attempts());
  }

  @Test
  void runningJobOfASilentWorkerIsReturnedAndRunByALiveOne() {
    UUID id = claimedByADeadWorker(aJob("echo").withRequest("{\"n\":1}"), "crashed-1").id();
    Job job = awaitStatus(id, JobStatus.COMPLETED);
    assertEquals(2, job.attempts(), "the lost attempt counts");
    assertEquals(1, job.result().get("n").asInt());
    long rows =
        pg.preparedQuery("SELECT count(*) FROM workers WHERE id = 'crashed-1'")
            .execute()
            .await()
            .iterator()
            .next()
            .getLong(0);
    assertEquals(0, rows, "the dead worker left the registry");
  }

  @Test
  void staleWorkerCannotOverwriteTheResultOfTheAttemptThatReplacedIt() {
    Job staleAttempt =
        claimedByADeadWorker(aJob("echo").withRequest("{\"from\":\"attempt 2\"}"), "crashed-2");
    UUID id = staleAttempt.id();
    Job replaced = awaitStatus(id, JobStatus.COMPLETED);
    assertEquals(2, replaced.attempts());

    // The "dead" worker wakes up and reports its attempt 1: the fence matches nothing.
    var finisher =
        new AttemptFinisher(
            vertx.getOrCreateContext(),
            pg,
            QueueSignals.of(redis, pg, config),
            JobEvents.of(redis, config),
            new SpoolMetrics());
    boolean written =
        finisher
            .finish(
                staleAttempt,
                Outcome.completed(JobJson.tree("{\"from\":\"attempt 1\"}")),
                Duration.ofSeconds(1))
            .await();
    assertFalse(written);
    boolean failedWritten =
        finisher
            .finish(staleAttempt, Outcome.failed("stale failure", 0), Duration.ofSeconds(1))
            .await();
    assertFalse(failedWritten);
    Job after = JobFixtures.load(pg, id).orElseThrow();
    assertEquals(JobStatus.COMPLETED, after.status());
    assertEquals("attempt 2", after.result().get("from").asText());
    assertNull(after.error());

    // Nor can it checkpoint, or record a side effect, for the attempt it lost.
    var stale =
        new RunningJob(
            staleAttempt,
            new EventWriter(
                new EventBatcher(JobEvents.of(redis, config), vertx.getOrCreateContext()),
                vertx,
                config.events().coalesce()),
            pg,
            vertx);
    assertThrows(
        AttemptLostException.class,
        () -> stale.checkpoint(JobJson.tree("{\"from\":\"attempt 1\"}")));
    assertThrows(AttemptLostException.class, () -> stale.once("charge", key -> JobJson.tree("{}")));
    assertNull(JobFixtures.load(pg, id).orElseThrow().checkpoint());
    long sideEffects =
        pg.preparedQuery("SELECT count(*) FROM job_side_effects WHERE job_id = $1")
            .execute(Tuple.of(id))
            .await()
            .iterator()
            .next()
            .getLong(0);
    assertEquals(0, sideEffects);
  }

  @Test
  void aSideEffectThatReturnsNothingIsRecordedAndNotRunAgain() throws Exception {
    UUID id = aJob("echo").insert(pg);
    pg.preparedQuery(
            "UPDATE jobs SET status = 'running', attempts = 1, lease_owner = 'live-1' WHERE id = $1")
        .execute(Tuple.of(id))
        .await();
    var attempt =
        new RunningJob(
            JobFixtures.load(pg, id).orElseThrow(),
            new EventWriter(
                new EventBatcher(JobEvents.of(redis, config), vertx.getOrCreateContext()),
                vertx,
                config.events().coalesce()),
            pg,
            vertx);

    assertNull(attempt.once("notify", key -> null));
    assertNull(
        attempt.once(
            "notify",
            key -> {
              throw new AssertionError("a recorded side effect runs once");
            }));
    long recorded =
        pg.preparedQuery(
                "SELECT count(*) FROM job_side_effects WHERE job_id = $1 AND result IS NULL")
            .execute(Tuple.of(id))
            .await()
            .iterator()
            .next()
            .getLong(0);
    assertEquals(1, recorded);
  }

  @Test
  void lastAttemptLostWithItsWorkerIsDeadLettered() {
    UUID id = claimedByADeadWorker(aJob("echo").withMaxAttempts(1), "crashed-3").id();
    Job job = awaitStatus(id, JobStatus.FAILED);
    assertTrue(job.error().contains("lost: worker crashed-3 stopped heartbeating"), job.error());
    assertEquals(1, job.attempts());
  }

  @Test
  void workerDeclaredDeadWhileStillAliveStopsTheAttemptsItLost() {
    var pausedEnv = new HashMap<>(env);
    pausedEnv.put("SPOOL_QUEUES", "paused");
    pausedEnv.put("SPOOL_WORKER_CONCURRENCY", "1");
    Worker paused = Worker.start(SpoolConfig.fromEnv(pausedEnv));
    try {
      UUID long_ =
          aJob("sleep").inQueue("paused").withRequest("{\"ms\":60000}").submit(pg, redis, keys);
      awaitStatus(long_, JobStatus.RUNNING);
      // What a reaper does to a worker it believes dead; the job is parked an hour ahead so none
      // re-claims it.
      pg.preparedQuery("DELETE FROM workers WHERE id = $1").execute(Tuple.of(paused.id())).await();
      pg.preparedQuery(
              "UPDATE jobs SET status = 'pending', lease_owner = NULL, run_at = now() + interval '1 hour' "
                  + "WHERE id = $1")
          .execute(Tuple.of(long_))
          .await();

      // Its next heartbeat finds it was reaped: it stops that attempt, freeing its only slot.
      UUID next = aJob("echo").inQueue("paused").submit(pg, redis, keys);
      assertEquals(JobStatus.COMPLETED, awaitStatus(next, JobStatus.COMPLETED).status());
      Job parked = JobFixtures.load(pg, long_).orElseThrow();
      assertEquals(JobStatus.PENDING, parked.status(), "the lost attempt wrote nothing");
      assertEquals(1, parked.attempts());
    } finally {
      paused.close();
    }
  }

  @Test
  void stoppingWorkerLetsShortJobsFinishAndHandsLongOnesBackAtOnce() {
    var stoppingEnv = new HashMap<>(env);
    stoppingEnv.put("SPOOL_QUEUES", "handback");
    stoppingEnv.put("SPOOL_SHUTDOWN_GRACE_SECS", "1");
    Worker stopping = Worker.start(SpoolConfig.fromEnv(stoppingEnv));
    UUID quick =
        aJob("sleep").inQueue("handback").withRequest("{\"ms\":300}").submit(pg, redis, keys);
    UUID slow =
        aJob("sleep").inQueue("handback").withRequest("{\"ms\":60000}").submit(pg, redis, keys);
    awaitStatus(slow, JobStatus.RUNNING);
    awaitStatus(quick, JobStatus.RUNNING);

    stopping.close();

    assertEquals(
        JobStatus.COMPLETED,
        JobFixtures.load(pg, quick).orElseThrow().status(),
        "finished within the grace");
    Job handedBack = JobFixtures.load(pg, slow).orElseThrow();
    assertEquals(
        JobStatus.PENDING, handedBack.status(), "handed back, not left running for the reaper");
    assertNull(handedBack.finishedAt());
    var signalled = new java.util.HashSet<UUID>();
    StreamEntries.parse(
            redis
                .send(
                    Request.cmd(Command.XREAD)
                        .arg("STREAMS")
                        .arg(keys.queueStream("handback", "sleep"))
                        .arg("0"))
                .await())
        .forEach(entry -> signalled.add(entry.jobId()));
    assertTrue(signalled.contains(slow), "signalled again for the next worker: " + signalled);
    long registered =
        pg.preparedQuery("SELECT count(*) FROM workers WHERE id = $1")
            .execute(Tuple.of(stopping.id()))
            .await()
            .iterator()
            .next()
            .getLong(0);
    assertEquals(0, registered);
  }
}
