package io.spool.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.store.PgClients;
import io.spool.testing.Eventually;
import io.spool.testing.HttpJson;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Retention: the workers' pruner deletes finished jobs past their retention with everything that
 * belongs to them, and nothing else. Retentions here are hours long, and a job is made old by
 * moving its {@code finished_at} back (as a clock would), so nothing depends on a test's timing.
 */
class RetentionTest {
  private static final String SECRET = "test-webhook-secret-0123456789";
  static InProcessSpool spool;
  static HttpJson http;
  static Receiver receiver;
  static Vertx vertx;
  static SqlClient pg;

  @BeforeAll
  static void start() throws Exception {
    receiver = new Receiver();
    spool =
        InProcessSpool.start(
            RetentionTest.class,
            Map.of(
                "SPOOL_RETENTION_COMPLETED_SECS", "3600",
                "SPOOL_RETENTION_CANCELLED_SECS", "3600",
                "SPOOL_RETENTION_FAILED_SECS", "10800",
                // No cap, so a job may ask to be kept forever.
                "SPOOL_RETENTION_JOB_MAX_SECS", "0",
                "SPOOL_PRUNE_INTERVAL_SECS", "1",
                "SPOOL_PRUNE_BATCH", "1000",
                "SPOOL_WEBHOOK_SECRET", SECRET,
                "SPOOL_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1",
                "SPOOL_HTTP_ALLOWED_HOSTS", "127.0.0.1"));
    http = spool.http;
    vertx = Vertx.vertx();
    pg = PgClients.client(vertx, spool.config);
  }

  @AfterAll
  static void stop() {
    spool.close();
    receiver.close();
    vertx.close().await();
  }

  /** Moves the job's end back by {@code ago}, as if it had ended then. */
  private static void endedAgo(String id, Duration ago) {
    int moved =
        pg.preparedQuery(
                "UPDATE jobs SET finished_at = now() - $2 * interval '1 second' WHERE id = $1")
            .execute(Tuple.of(UUID.fromString(id), (int) ago.toSeconds()))
            .await()
            .rowCount();
    assertEquals(1, moved, "job " + id + " is there to move");
  }

  private static long count(String table, String id) {
    return pg.preparedQuery("SELECT count(*) FROM " + table + " WHERE job_id = $1")
        .execute(Tuple.of(UUID.fromString(id)))
        .await()
        .iterator()
        .next()
        .getLong(0);
  }

  private static boolean gone(String id) {
    return http.get("/v1/jobs/" + id).status() == 404;
  }

  private static void awaitGone(String id) {
    Eventually.await("job " + id + " pruned", Duration.ofSeconds(20), () -> gone(id));
  }

  /**
   * Returns after three passes of the pruner (one a second): each found and deleted a marker job
   * made past its retention just before.
   */
  private static void severalPasses() {
    for (int i = 0; i < 3; i++) {
      String marker = http.submit("{\"type\":\"echo\"}");
      spool.awaitEnd(marker);
      endedAgo(marker, Duration.ofHours(2));
      awaitGone(marker);
    }
  }

  @Test
  void aJobPastItsRetentionGoesWithItsDeliveriesSideEffectsAndIdempotencyKey() {
    String body =
        "{\"type\":\"http\",\"idempotency_key\":\"order-17\",\"callback_url\":\""
            + receiver.url("/done")
            + "\",\"request\":{\"method\":\"post\",\"url\":\""
            + receiver.url("/effect")
            + "\"}}";
    var first = http.post("/v1/jobs", body);
    assertEquals(202, first.status(), first.raw().body());
    String id = first.json().get("id").asText();
    JsonNode job = spool.awaitEnd(id);
    assertEquals("completed", job.get("status").asText(), job.toString());
    Eventually.await(
        "its webhook delivered",
        Duration.ofSeconds(20),
        () ->
            http.get("/v1/jobs/" + id)
                .json()
                .path("webhook")
                .path("state")
                .asText()
                .equals("delivered"));
    assertEquals(1, count("job_side_effects", id), "the http call was recorded once");
    assertEquals(1, count("webhook_deliveries", id));
    assertEquals(1, count("idempotency_keys", id));
    assertEquals(200, http.post("/v1/jobs", body).status(), "the key still names the job");

    endedAgo(id, Duration.ofHours(2));
    awaitGone(id);
    var answer = http.get("/v1/jobs/" + id);
    assertEquals(404, answer.status());
    assertTrue(
        answer.header("Content-Type").startsWith("application/problem+json"),
        answer.header("Content-Type"));
    assertEquals(0, count("job_side_effects", id));
    assertEquals(0, count("webhook_deliveries", id));
    assertEquals(0, count("idempotency_keys", id));
    var again = http.post("/v1/jobs", body);
    assertEquals(
        202, again.status(), "a key whose job is gone names a new job: " + again.raw().body());
    assertNotEquals(id, again.json().get("id").asText());
    spool.awaitEnd(again.json().get("id").asText());
  }

  @Test
  void eachStatusKeepsItsOwnRetentionAndAJobsOwnWins() {
    String fresh = http.submit("{\"type\":\"echo\"}");
    String failedRecently = http.submit("{\"type\":\"fail\",\"max_attempts\":1}");
    String failedLongAgo = http.submit("{\"type\":\"fail\",\"max_attempts\":1}");
    String cancelled = http.submit("{\"type\":\"echo\",\"delay_secs\":3600}");
    assertEquals(200, http.post("/v1/jobs/" + cancelled + "/cancel", "").status());
    String shortOwn = http.submit("{\"type\":\"echo\",\"retention_secs\":60}");
    String longOwn = http.submit("{\"type\":\"echo\",\"retention_secs\":86400}");
    String forever = http.submit("{\"type\":\"echo\",\"retention_secs\":0}");
    for (String id :
        List.of(fresh, failedRecently, failedLongAgo, cancelled, shortOwn, longOwn, forever)) {
      spool.awaitEnd(id);
    }
    assertEquals(60, http.get("/v1/jobs/" + shortOwn).json().get("retention_secs").asInt());
    assertTrue(http.get("/v1/jobs/" + fresh).json().get("retention_secs").isNull());

    endedAgo(failedRecently, Duration.ofHours(2)); // failed: kept three hours
    endedAgo(failedLongAgo, Duration.ofHours(4));
    endedAgo(cancelled, Duration.ofHours(2));
    endedAgo(shortOwn, Duration.ofMinutes(2)); // its own 60 s, not the hour
    endedAgo(longOwn, Duration.ofHours(2)); // its own day, not the hour
    endedAgo(forever, Duration.ofDays(3650));

    awaitGone(failedLongAgo);
    awaitGone(cancelled);
    awaitGone(shortOwn);
    severalPasses();
    for (String kept : List.of(fresh, failedRecently, longOwn, forever)) {
      assertEquals(200, http.get("/v1/jobs/" + kept).status(), "job " + kept + " kept");
    }
  }

  @Test
  void aJobWhoseWebhookIsStillPendingIsKeptUntilTheDeliveryEnds() {
    // The receiver answers after 8 s (the POST's timeout is 10): the delivery stays pending.
    receiver.script("/slow", new Receiver.Answer(200, Map.of(), null, 8000));
    String id =
        http.submit("{\"type\":\"echo\",\"callback_url\":\"" + receiver.url("/slow") + "\"}");
    spool.awaitEnd(id);
    endedAgo(id, Duration.ofHours(2));
    Eventually.await(
        "the POST sent", Duration.ofSeconds(20), () -> !receiver.to("/slow").isEmpty());
    severalPasses();
    JsonNode job = http.get("/v1/jobs/" + id).json();
    assertEquals("pending", job.path("webhook").path("state").asText(), "still waiting: " + job);
    assertEquals(id, job.get("id").asText(), "kept while its delivery is pending");
    awaitGone(id);
    assertEquals(0, count("webhook_deliveries", id));
    assertEquals(1, receiver.to("/slow").size(), "delivered once, then pruned");
  }

  @Test
  void pendingAndRunningJobsAreNeverDeletedWhateverTheirFinishedAtSays() {
    String pending = http.submit("{\"type\":\"echo\",\"delay_secs\":3600}");
    String running = http.submit("{\"type\":\"sleep\",\"request\":{\"ms\":8000}}");
    Eventually.await(
        "the sleep job running",
        Duration.ofSeconds(20),
        () -> http.get("/v1/jobs/" + running).json().get("status").asText().equals("running"));
    // A stale finished_at (which Spool itself never leaves on them) must not make them prunable.
    endedAgo(pending, Duration.ofDays(30));
    endedAgo(running, Duration.ofDays(30));
    severalPasses();
    assertEquals("pending", http.get("/v1/jobs/" + pending).json().get("status").asText());
    assertEquals("running", http.get("/v1/jobs/" + running).json().get("status").asText());
    JsonNode done = spool.awaitEnd(running);
    assertEquals("completed", done.get("status").asText(), "it ran to its end: " + done);
  }

  @Test
  void aPruneOfTensOfThousandsOfJobsRunsWhileJobsKeepCompletingAndLosesNone() throws Exception {
    // 30,000 jobs that ended two days ago, some with a delivered webhook and an idempotency key.
    pg.query(
            """
            INSERT INTO jobs (id, type, queue, user_id, request, status, max_attempts, attempts,
                              submitted_at, started_at, finished_at, result)
            SELECT gen_random_uuid(), 'echo', 'default', 'old-user', '{}', 'completed', 1, 1,
                   now() - interval '3 days', now() - interval '3 days', now() - interval '2 days', '{}'
            FROM generate_series(1, 30000)""")
        .execute()
        .await();
    pg.query(
            """
            WITH picked AS (SELECT id FROM jobs WHERE user_id = 'old-user' LIMIT 3000)
            , keys AS (INSERT INTO idempotency_keys (user_id, key, request_hash, job_id, expires_at)
                       SELECT 'old-user', id::text, 'h', id, now() + interval '1 day' FROM picked)
            INSERT INTO webhook_deliveries (job_id, url, payload, state, finished_at)
            SELECT id, 'http://127.0.0.1:9/x', '{}', 'delivered', now() - interval '2 days' FROM picked""")
        .execute()
        .await();
    // Meanwhile, new jobs keep coming and completing.
    var submitted = new ArrayList<String>();
    long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (oldJobs() > 0 && System.nanoTime() < until) {
      for (int i = 0; i < 20; i++) {
        submitted.add(http.submit("{\"type\":\"echo\",\"request\":{\"n\":" + i + "}}"));
      }
      Thread.sleep(50);
    }
    assertEquals(0, oldJobs(), "all 30,000 pruned within a minute");
    assertTrue(submitted.size() >= 20, submitted.size() + " jobs submitted meanwhile");
    for (String id : submitted) {
      assertEquals("completed", spool.awaitEnd(id).get("status").asText(), "job " + id);
    }
    Row left =
        pg.query(
                "SELECT (SELECT count(*) FROM idempotency_keys WHERE user_id = 'old-user') AS keys,"
                    + " (SELECT count(*) FROM webhook_deliveries d WHERE NOT EXISTS"
                    + " (SELECT 1 FROM jobs j WHERE j.id = d.job_id)) AS orphans")
            .execute()
            .await()
            .iterator()
            .next();
    assertEquals(0, left.getLong("keys"));
    assertEquals(0, left.getLong("orphans"));
    assertTrue(prunedTotal() >= 30_000, "the metric counted them: " + prunedTotal());
  }

  private static long oldJobs() {
    return pg.query("SELECT count(*) FROM jobs WHERE user_id = 'old-user'")
        .execute()
        .await()
        .iterator()
        .next()
        .getLong(0);
  }

  /** spool_jobs_pruned_total{status="completed"} on the worker's /metrics. */
  private static double prunedTotal() throws Exception {
    String metrics =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + spool.worker.metricsPort() + "/metrics"))
                    .build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    return metrics
        .lines()
        .filter(l -> l.startsWith("spool_jobs_pruned_total{") && l.contains("status=\"completed\""))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
        .sum();
  }
}
