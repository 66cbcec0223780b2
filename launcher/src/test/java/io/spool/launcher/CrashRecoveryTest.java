package io.spool.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spool.store.PgClients;
import io.spool.testing.Eventually;
import io.spool.testing.HttpJson;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A worker process SIGKILLed mid-job: another worker process finishes the job. */
class CrashRecoveryTest {
  static final Pattern WORKER_ID = Pattern.compile("worker (\\S+) running");
  static ProcessCluster cluster;
  static final Map<String, SpoolProcess> workers = new HashMap<>();
  static HttpJson http;
  static Vertx vertx;
  static SqlClient pg;

  @BeforeAll
  static void start() {
    cluster =
        ProcessCluster.start(
            CrashRecoveryTest.class,
            Map.of(
                "SPOOL_VISIBILITY_TIMEOUT_SECS",
                "3",
                "SPOOL_HEARTBEAT_SECS",
                "1",
                "SPOOL_HTTP_ALLOWED_HOSTS",
                "127.0.0.1"),
            2);
    cluster.workers.forEach(CrashRecoveryTest::register);
    http = cluster.http;
    vertx = Vertx.vertx();
    pg = PgClients.client(vertx, cluster.config);
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
    cluster.close();
  }

  @Test
  void jobOfAKilledWorkerProcessResumesFromItsCheckpointOnAnother() {
    var submitted =
        http.post("/v1/jobs", "{\"type\":\"sleep\",\"request\":{\"ms\":4000,\"steps\":8}}");
    assertEquals(202, submitted.status(), submitted.raw().body());
    UUID id = UUID.fromString(submitted.json().get("id").asText());
    Eventually.await(
        "two steps are checkpointed", Duration.ofSeconds(20), () -> stepsDone(id) >= 2);
    String first = owner(id);

    workers.remove(first).kill();
    Instant killedAt = Instant.now();

    Eventually.await(
        "the job completed on the other worker",
        Duration.ofSeconds(60),
        () -> http.get("/v1/jobs/" + id).json().get("status").asText().equals("completed"));
    var job = http.get("/v1/jobs/" + id).json();
    assertEquals(2, job.get("attempts").asInt());
    assertEquals(4000, job.get("result").get("slept_ms").asInt());
    int resumedFrom = job.get("result").get("resumed_from").asInt();
    assertTrue(
        resumedFrom >= 2 && resumedFrom < 8,
        "attempt 2 went on after the checkpointed steps: " + job);
    assertEquals(8, job.get("checkpoint").get("steps_done").asInt());
    Instant restartedAt = Instant.parse(job.get("started_at").asText());
    // Reported, not asserted: the target is the visibility timeout (3 s here) + 2 s.
    System.out.printf(
        "recovery after SIGKILL: attempt 2 started %d ms after the kill (visibility timeout %d s)%n",
        Duration.between(killedAt, restartedAt).toMillis(),
        cluster.config.worker().visibilityTimeout().toSeconds());
    // A finished job keeps the id of the worker that ran its last attempt.
    String second =
        pg.preparedQuery("SELECT lease_owner FROM jobs WHERE id = $1")
            .execute(Tuple.of(id))
            .await()
            .iterator()
            .next()
            .getString(0);
    assertTrue(
        workers.containsKey(second) && !second.equals(first),
        second + " is a live worker, not " + first);
    startAnotherWorker();
  }

  private static void register(SpoolProcess worker) {
    var id = WORKER_ID.matcher(worker.output());
    id.find();
    workers.put(id.group(1), worker);
  }

  /** SIGKILLs the worker and starts another in its place, so each test has two live workers. */
  private static void killAndReplace(String workerId) {
    workers.remove(workerId).kill();
    startAnotherWorker();
  }

  private static void startAnotherWorker() {
    SpoolProcess replacement = cluster.addWorker();
    ProcessCluster.awaitRunning(replacement);
    register(replacement);
  }

  private static int stepsDone(UUID id) {
    String checkpoint =
        pg.preparedQuery("SELECT checkpoint->>'steps_done' FROM jobs WHERE id = $1")
            .execute(Tuple.of(id))
            .await()
            .iterator()
            .next()
            .getString(0);
    return checkpoint == null ? 0 : Integer.parseInt(checkpoint);
  }

  @Test
  void httpCallDoneOnceIsNotRepeatedByTheAttemptAfterAKill() throws Exception {
    try (var receiver = new Receiver()) {
      receiver.script(
          "/charge",
          new Receiver.Answer(
              201, Map.of("Content-Type", "application/json"), "{\"charge\":\"ch_1\"}"));
      var submitted =
          http.post(
              "/v1/jobs",
              "{\"type\":\"http\",\"request\":{\"method\":\"POST\",\"url\":\""
                  + receiver.url("/charge")
                  + "\",\"body\":{\"amount\":100},\"after_ms\":4000}}");
      assertEquals(202, submitted.status(), submitted.raw().body());
      UUID id = UUID.fromString(submitted.json().get("id").asText());
      Eventually.await(
          "the charge is done and recorded",
          Duration.ofSeconds(20),
          () ->
              pg.preparedQuery("SELECT count(*) FROM job_side_effects WHERE job_id = $1")
                      .execute(Tuple.of(id))
                      .await()
                      .iterator()
                      .next()
                      .getLong(0)
                  == 1);
      killAndReplace(owner(id));

      Eventually.await(
          "the job completed on the other worker",
          Duration.ofSeconds(60),
          () -> http.get("/v1/jobs/" + id).json().get("status").asText().equals("completed"));
      var job = http.get("/v1/jobs/" + id).json();
      assertEquals(2, job.get("attempts").asInt(), "the killed attempt and the one that finished");
      assertEquals(
          201, job.get("result").get("status").asInt(), "attempt 2 got the recorded answer");
      assertEquals("ch_1", job.get("result").get("body").get("charge").asText());
      assertEquals(
          List.of(id + ":http"),
          receiver.to("/charge").stream().map(r -> r.header("Idempotency-Key")).toList(),
          "one POST, with the job's stable key");
    }
  }

  /** The worker holding the job's running attempt, or null. */
  private static String owner(UUID id) {
    var row =
        pg.preparedQuery("SELECT lease_owner, status FROM jobs WHERE id = $1")
            .execute(Tuple.of(id))
            .await()
            .iterator()
            .next();
    return "running".equals(row.getString(1)) ? row.getString(0) : null;
  }
}
