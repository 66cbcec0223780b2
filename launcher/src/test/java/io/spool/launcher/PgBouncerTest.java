package io.spool.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.config.SpoolConfig;
import io.spool.gateway.Gateway;
import io.spool.model.JobJson;
import io.spool.net.WebhookSignature;
import io.spool.store.ClaimSql;
import io.spool.store.PgClients;
import io.spool.testing.Eventually;
import io.spool.testing.HttpJson;
import io.spool.testing.PgBouncer;
import io.spool.testing.RedisServer;
import io.spool.testing.TcpProxy;
import io.spool.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.pgclient.pubsub.PgSubscriber;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The core paths with a gateway and two worker processes whose statements all go through a real
 * PgBouncer in transaction mode ({@code SPOOL_PG_POOLER=transaction}), with fewer server sessions
 * than the processes hold client connections; only the first worker's LISTEN connection goes to
 * Postgres directly ({@code SPOOL_PG_DIRECT_URL}, here through a proxy that counts its
 * connections), and the second worker has none ({@code SPOOL_PG_LISTEN=off}). Redis is the test's
 * own, so a late test can stop it: the order matters for that one.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PgBouncerTest {
  /** PgBouncer's server sessions to Postgres: fewer than the processes' client connections. */
  static final int SERVER_SESSIONS = 4;

  /** Workers that LISTEN; one more does not. */
  static final int LISTENING_WORKERS = 1;

  static final String WEBHOOK_SECRET = "pgbouncer-test-secret-0123456789";

  static RedisServer redis;
  static Receiver receiver;
  static PgBouncer pgbouncer;
  static TcpProxy direct;
  static ProcessCluster cluster;
  static HttpJson http;
  static Vertx vertx;
  static SqlClient pg;

  @BeforeAll
  static void start() throws Exception {
    receiver = new Receiver();
    String schema = TestServices.isolatedEnv(PgBouncerTest.class).get("SPOOL_PG_SCHEMA");
    URI postgres = URI.create(TestServices.pgUrl());
    redis = RedisServer.start();
    pgbouncer = PgBouncer.inFrontOf(TestServices.pgUrl(), schema, SERVER_SESSIONS);
    direct = TcpProxy.to(postgres.getHost(), postgres.getPort());
    String directUrl =
        postgres.getScheme()
            + "://"
            + postgres.getRawUserInfo()
            + "@127.0.0.1:"
            + direct.port()
            + postgres.getPath();
    cluster =
        ProcessCluster.start(
            PgBouncerTest.class,
            Map.of(
                "SPOOL_PG_SCHEMA",
                schema,
                "SPOOL_REDIS_URL",
                redis.url(),
                "SPOOL_WORKER_CONCURRENCY",
                "16",
                "SPOOL_RETRY_BASE_MILLIS",
                "50",
                "SPOOL_RETRY_MAX_MILLIS",
                "200",
                "SPOOL_HEARTBEAT_SECS",
                "1",
                "SPOOL_WEBHOOK_SECRET",
                WEBHOOK_SECRET,
                "SPOOL_WEBHOOK_ALLOWED_HOSTS",
                "127.0.0.1",
                "SPOOL_WEBHOOK_RETRY_BASE_MILLIS",
                "200",
                // The pruner's statement runs every second (and deletes nothing: retention is a
                // day).
                "SPOOL_PRUNE_INTERVAL_SECS",
                "1"),
            Map.of(
                "SPOOL_PG_URL",
                pgbouncer.url(),
                "SPOOL_PG_POOLER",
                "transaction",
                "SPOOL_PG_DIRECT_URL",
                directUrl),
            LISTENING_WORKERS);
    ProcessCluster.awaitRunning(cluster.addWorker(Map.of("SPOOL_PG_LISTEN", "off")));
    http = cluster.http;
    vertx = Vertx.vertx();
    // The test's own view: straight to Postgres.
    pg = PgClients.client(vertx, cluster.config);
  }

  @AfterAll
  static void stop() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
    if (vertx != null) {
      vertx.close().await();
    }
    for (AutoCloseable started : new AutoCloseable[] {direct, pgbouncer, redis, receiver}) {
      if (started != null) {
        started.close();
      }
    }
  }

  private static JsonNode job(String id) {
    return http.get("/v1/jobs/" + id).json();
  }

  private static JsonNode awaitStatus(String id, String status) {
    Eventually.await(
        "job " + id + " is " + status,
        Duration.ofSeconds(30),
        () -> job(id).get("status").asText().equals(status));
    return job(id);
  }

  private static HttpJson.Response post(String path) {
    return http.send(
        HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + cluster.processEnv.get("SPOOL_HTTP_PORT") + path))
            .POST(HttpRequest.BodyPublishers.noBody()));
  }

  @Test
  @Order(1)
  void twoThousandJobsEachRunExactlyOnce() throws Exception {
    var ids = new HashMap<String, Integer>();
    for (int batch = 0; batch < 2; batch++) {
      // Jobs.submitBatch numbers a batch's requests batch * 10,000 + i, in the answer's order.
      List<String> submitted = Jobs.submitBatch(http, 1000, "record", batch);
      for (int i = 0; i < submitted.size(); i++) {
        ids.put(submitted.get(i), batch * 10_000 + i);
      }
    }
    // And some one at a time, each its own INSERT transaction through the pooler.
    for (int i = 0; i < 50; i++) {
      String id = http.submit("{\"type\":\"record\",\"request\":{\"n\":" + (2000 + i) + "}}");
      ids.put(id, 2000 + i);
    }
    Eventually.await(
        "all 2,050 jobs completed",
        Duration.ofMinutes(2),
        () -> count("status = 'completed' AND type = 'record'") == ids.size());

    var runsPerJob = new HashMap<String, Integer>();
    var runsPerWorker = new ArrayList<Integer>();
    for (Path runLog : cluster.runLogs) {
      List<String> lines = Files.readAllLines(runLog);
      runsPerWorker.add(lines.size());
      for (String line : lines) {
        runsPerJob.merge(line.split(" ")[0], 1, Integer::sum);
      }
    }
    assertTrue(
        runsPerWorker.stream().allMatch(runs -> runs > 0),
        "both workers took work, the one without LISTEN too: " + runsPerWorker);
    assertEquals(ids.keySet(), runsPerJob.keySet(), "every job ran");
    var repeated =
        runsPerJob.entrySet().stream()
            .filter(e -> e.getValue() != 1)
            .map(Map.Entry::getKey)
            .collect(Collectors.toList());
    assertTrue(repeated.isEmpty(), "jobs that ran more than once: " + repeated);
    ids.entrySet().stream()
        .limit(20)
        .forEach(
            e -> {
              var job = job(e.getKey());
              assertEquals(e.getValue() * 2L, job.get("result").get("n").asLong());
              assertEquals(1, job.get("attempts").asInt());
            });
  }

  @Test
  @Order(2)
  void anIdempotencyKeyMakesOneJobHoweverOftenItIsSent() {
    String body = "{\"type\":\"echo\",\"request\":{\"a\":1},\"idempotency_key\":\"order-42\"}";
    var first = http.post("/v1/jobs", body);
    assertEquals(202, first.status(), first.raw().body());
    var replay = http.post("/v1/jobs", body);
    assertEquals(200, replay.status(), replay.raw().body());
    assertEquals("true", replay.header("Idempotent-Replayed"));
    assertEquals(first.json().get("id"), replay.json().get("id"));
    var conflict =
        http.post(
            "/v1/jobs",
            "{\"type\":\"echo\",\"request\":{\"a\":2},\"idempotency_key\":\"order-42\"}");
    assertEquals(409, conflict.status(), conflict.raw().body());
    awaitStatus(first.json().get("id").asText(), "completed");
    assertEquals(1, count("request->>'a' IS NOT NULL AND type = 'echo'"));
  }

  @Test
  @Order(3)
  void aFailingJobIsRetriedThenDeadLetteredThenRequeuedToSuccess() {
    String id = http.submit("{\"type\":\"fail\",\"request\":{\"times\":2},\"max_attempts\":2}");
    JsonNode failed = awaitStatus(id, "failed");
    assertEquals(2, failed.get("attempts").asInt(), "retried once, then dead-lettered");
    var dlq = new ArrayList<String>();
    http.get("/v1/dlq").json().get("jobs").forEach(j -> dlq.add(j.get("id").asText()));
    assertTrue(dlq.contains(id), "in the DLQ: " + dlq);

    var requeued = post("/v1/dlq/" + id + "/requeue");
    assertEquals(200, requeued.status(), requeued.raw().body());
    JsonNode done = awaitStatus(id, "completed");
    assertEquals(3, done.get("result").get("attempts").asInt());
  }

  @Test
  @Order(4)
  void aRunningJobIsCancelled() {
    String id = http.submit("{\"type\":\"sleep\",\"request\":{\"ms\":60000}}");
    awaitStatus(id, "running");
    var accepted = post("/v1/jobs/" + id + "/cancel");
    assertEquals(202, accepted.status(), accepted.raw().body());
    JsonNode job = awaitStatus(id, "cancelled");
    assertEquals(1, job.get("attempts").asInt());
  }

  @Test
  @Order(5)
  void aDelayedJobRunsWhenDueAndNotBefore() {
    String id = http.submit("{\"type\":\"echo\",\"delay_secs\":2}");
    JsonNode job = awaitStatus(id, "completed");
    assertFalse(
        Instant.parse(job.get("started_at").asText())
            .isBefore(Instant.parse(job.get("run_at").asText())),
        "started at or after its run_at: " + job);
  }

  @Test
  @Order(6)
  void aLongPollAndTheEventStreamAnswerTheResult() {
    String id = http.submit("{\"type\":\"sleep\",\"request\":{\"ms\":1500,\"steps\":3}}");
    var polled = http.get("/v1/jobs/" + id + "?wait_secs=20").json();
    assertEquals("completed", polled.get("status").asText(), polled.toString());
    assertEquals(1500, polled.get("result").get("slept_ms").asInt());

    // The job has ended, so the stream sends its whole log and closes.
    var types = new ArrayList<String>();
    JsonNode end = null;
    for (String line : http.get("/v1/jobs/" + id + "/events").raw().body().split("\n")) {
      if (line.startsWith("data: ")) {
        JsonNode event = JobJson.tree(line.substring(6));
        types.add(event.get("type").asText());
        end = event;
      }
    }
    assertTrue(types.contains("progress") && types.contains("checkpoint"), types.toString());
    assertEquals("end", types.getLast());
    assertEquals("completed", end.get("data").get("status").asText());
  }

  @Test
  @Order(7)
  void aWebhookIsDeliveredSignedAfterARetry() {
    receiver.script("/hook", 503);
    String id =
        http.submit(
            "{\"type\":\"echo\",\"request\":{\"say\":\"hi\"},\"callback_url\":\""
                + receiver.url("/hook")
                + "\"}");
    Eventually.await(
        "job " + id + "'s webhook is delivered",
        Duration.ofSeconds(30),
        () -> job(id).path("webhook").path("state").asText().equals("delivered"));
    assertEquals(2, job(id).get("webhook").get("attempts").asInt());
    var deliveries = receiver.to("/hook");
    assertEquals(List.of(503, 200), deliveries.stream().map(Receiver.Request::answered).toList());
    var delivered = deliveries.getLast();
    assertTrue(
        WebhookSignature.verify(
            WEBHOOK_SECRET,
            delivered.header(WebhookSignature.HEADER),
            delivered.body(),
            WebhookSignature.DEFAULT_TOLERANCE,
            Instant.now()));
    assertEquals(id, JobJson.tree(delivered.body()).get("job_id").asText());
  }

  @Test
  @Order(8)
  void statementsGoThroughPgBouncerAndOnlyAWorkersListenGoesDirect() {
    long before = pgbouncer.queryCount();
    String id = http.submit("{\"type\":\"echo\"}");
    awaitStatus(id, "completed");
    long after = pgbouncer.queryCount();
    assertTrue(after > before, "the job's statements went through PgBouncer");
    var servers = pgbouncer.show("SERVERS");
    var clients = pgbouncer.show("CLIENTS");
    System.out.printf(
        "PgBouncer: %d statements, %d client connections on %d server sessions%n",
        after, clients.size(), servers.size());
    assertTrue(servers.size() <= SERVER_SESSIONS, "server sessions: " + servers.size());
    assertTrue(
        clients.size() > servers.size(),
        "the processes' " + clients.size() + " connections share the sessions");

    // The direct connections are the listening worker's one LISTEN session, and nothing else.
    List<Integer> ports = direct.openConnectionPorts();
    assertEquals(LISTENING_WORKERS, ports.size(), "direct connections: " + ports);
    var lastStatements = new ArrayList<String>();
    pg.preparedQuery("SELECT query FROM pg_stat_activity WHERE client_port = ANY($1)")
        .execute(Tuple.of(ports.toArray(Integer[]::new)))
        .await()
        .forEach(row -> lastStatements.add(row.getString(0)));
    assertEquals(LISTENING_WORKERS, lastStatements.size(), lastStatements.toString());
    assertTrue(
        lastStatements.stream().allMatch(q -> q.startsWith("LISTEN")),
        "they only LISTEN: " + lastStatements);
  }

  @Test
  @Order(9)
  void withRedisStoppedANotifyThroughPgBouncerWakesTheWorkers() throws Exception {
    var woken = new CountDownLatch(1);
    var subscriber = PgSubscriber.subscriber(vertx, PgClients.directConnectOptions(cluster.config));
    subscriber.channel(ClaimSql.wakeChannel(cluster.config)).handler(payload -> woken.countDown());
    subscriber.connect().await();
    try {
      redis.stop();
      String id = http.submit("{\"type\":\"echo\",\"request\":{\"redis\":\"down\"}}");
      assertTrue(
          woken.await(30, TimeUnit.SECONDS),
          "the gateway's NOTIFY, sent through PgBouncer, reached a LISTEN session");
      JsonNode job = awaitStatus(id, "completed");
      assertEquals("down", job.get("result").get("redis").asText());
    } finally {
      subscriber.close().await();
      redis.startAgain();
    }
    String after = http.submit("{\"type\":\"echo\"}");
    awaitStatus(after, "completed");
  }

  @Test
  @Order(10)
  void noProcessLoggedAPostgresError() {
    // A statement the pooler broke fails in the process, which logs it: Vert.x's PgException
    // message ends with the SQLSTATE, "ERROR: ... (42P18)".
    var failure = Pattern.compile("PgException|ERROR: .*\\([0-9A-Z]{5}\\)");
    var processes = new ArrayList<SpoolProcess>(cluster.workers);
    processes.add(cluster.gateway);
    for (SpoolProcess process : processes) {
      var lines = process.output().lines().filter(l -> failure.matcher(l).find()).toList();
      assertTrue(lines.isEmpty(), "Postgres errors logged:\n" + String.join("\n", lines));
    }
  }

  @Test
  @Order(11)
  void aPoolerWhoseSessionsLackSpoolsSchemaStopsStartUpSayingHowToGiveIt() {
    try (var bare = PgBouncer.inFrontOf(TestServices.pgUrl(), null, 1)) {
      var env = new HashMap<>(cluster.processEnv);
      env.put("SPOOL_PG_URL", bare.url());
      env.put("SPOOL_HTTP_PORT", String.valueOf(ProcessCluster.freePort()));
      var config = SpoolConfig.fromEnv(env);
      var refused = assertThrows(IllegalStateException.class, () -> Gateway.start(config));
      String schema = config.pg().schema();
      assertTrue(
          refused.getMessage().contains("resolve names in schema 'public', not in SPOOL_PG_SCHEMA"),
          refused.getMessage());
      assertTrue(
          refused.getMessage().contains("connect_query='SET search_path TO " + schema + "'"),
          refused.getMessage());
    }
  }

  private static long count(String where) {
    return pg.query("SELECT count(*) FROM jobs WHERE " + where)
        .execute()
        .await()
        .iterator()
        .next()
        .getLong(0);
  }
}
