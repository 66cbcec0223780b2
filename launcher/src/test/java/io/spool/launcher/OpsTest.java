package io.spool.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.config.SpoolConfig;
import io.spool.gateway.Gateway;
import io.spool.model.JobJson;
import io.spool.store.PgClients;
import io.spool.testing.Eventually;
import io.spool.testing.HttpJson;
import io.spool.testing.TestServices;
import io.spool.worker.Worker;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Metrics, health and the queue figures of a real gateway and worker, scraped before and after jobs
 * flow; and the worker's stats line, in JSON, from a worker process.
 */
class OpsTest {
  private static final String METRICS_TOKEN = "scrape-token-0123456789";
  static InProcessSpool spool;
  static HttpJson http;
  static final HttpClient client = HttpClient.newHttpClient();

  @BeforeAll
  static void start() {
    spool =
        InProcessSpool.start(
            OpsTest.class,
            Map.of(
                "SPOOL_QUEUES",
                "default,ops",
                "SPOOL_QUEUE_STATS_SECS",
                "1",
                "SPOOL_RETRY_BASE_MILLIS",
                "10",
                "SPOOL_METRICS_TOKEN",
                METRICS_TOKEN));
    http = spool.http;
  }

  @AfterAll
  static void stop() {
    spool.close();
  }

  private static String gateway() {
    return "http://127.0.0.1:" + spool.config.gateway().port();
  }

  private static String worker() {
    return "http://127.0.0.1:" + spool.worker.metricsPort();
  }

  private static HttpResponse<String> get(String url, String token) {
    var request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    try {
      return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new AssertionError("GET " + url + " failed", e);
    }
  }

  /** Every sample of the exposition: "name{labels}" to value. */
  private static Map<String, Double> scrape(String base) {
    var response = get(base + "/metrics", METRICS_TOKEN);
    assertEquals(200, response.statusCode(), response.body());
    assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
    var samples = new HashMap<String, Double>();
    for (String line : response.body().split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      int space = line.lastIndexOf(' ');
      samples.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
    }
    return samples;
  }

  /**
   * The sum of every sample of {@code name} whose labels include all of {@code labels}
   * ("queue=\"q\"").
   */
  private static double sum(Map<String, Double> samples, String name, String... labels) {
    double total = 0;
    for (var sample : samples.entrySet()) {
      String key = sample.getKey();
      boolean sameName = key.equals(name) || key.startsWith(name + "{");
      if (sameName && List.of(labels).stream().allMatch(key::contains)) {
        total += sample.getValue();
      }
    }
    return total;
  }

  @Test
  void countersHistogramsAndGaugesChangeAsJobsFlow() {
    String queue = "queue=\"ops\"";
    var gatewayBefore = scrape(gateway());
    var workerBefore = scrape(worker());

    var ids = new ArrayList<String>();
    for (int i = 0; i < 3; i++) {
      ids.add(http.submit("{\"type\":\"sleep\",\"queue\":\"ops\",\"request\":{\"ms\":10}}"));
    }
    String retriedThenDead =
        http.submit(
            "{\"type\":\"fail\",\"queue\":\"ops\",\"request\":{\"times\":-1},\"max_attempts\":2}");
    String scheduled =
        http.submit("{\"type\":\"echo\",\"queue\":\"ops\",\"request\":{},\"delay_secs\":3600}");
    assertEquals(200, http.post("/v1/jobs/" + scheduled + "/cancel", "").status());
    ids.forEach(spool::awaitEnd);
    assertEquals("failed", spool.awaitEnd(retriedThenDead).get("status").asText());

    var gatewayAfter = scrape(gateway());
    assertEquals(
        5,
        sum(gatewayAfter, "spool_jobs_submitted_total", queue)
            - sum(gatewayBefore, "spool_jobs_submitted_total", queue));
    assertEquals(
        3,
        sum(gatewayAfter, "spool_jobs_submitted_total", queue, "type=\"sleep\"")
            - sum(gatewayBefore, "spool_jobs_submitted_total", queue, "type=\"sleep\""));
    assertEquals(
        1,
        sum(gatewayAfter, "spool_jobs_cancelled_total", queue, "type=\"echo\""),
        "a pending job cancelled");
    assertTrue(
        sum(gatewayAfter, "spool_batch_size_rows_count", "batch=\"insert\"")
            > sum(gatewayBefore, "spool_batch_size_rows_count", "batch=\"insert\""),
        "insert batches are measured");

    Eventually.await(
        "the worker's counters",
        Duration.ofSeconds(10),
        () -> {
          var after = scrape(worker());
          return sum(after, "spool_jobs_completed_total", queue)
                      - sum(workerBefore, "spool_jobs_completed_total", queue)
                  == 3
              && sum(after, "spool_jobs_failed_total", queue) == 1
              && sum(after, "spool_jobs_retried_total", queue) == 1;
        });
    var workerAfter = scrape(worker());
    assertTrue(
        sum(workerAfter, "spool_batch_size_rows_count", "batch=\"finish\"") > 0,
        "finish batches are measured");
    assertEquals(
        3,
        sum(
            workerAfter,
            "spool_job_duration_seconds_count",
            queue,
            "status=\"completed\"",
            "type=\"sleep\""));
    assertTrue(
        sum(workerAfter, "spool_job_duration_seconds_sum", queue, "status=\"completed\"") >= 0.03,
        "three 10 ms sleeps took 30 ms or more");
    assertEquals(
        3,
        sum(
            workerAfter,
            "spool_job_duration_seconds_bucket",
            queue,
            "status=\"completed\"",
            "le=\"+Inf\""));
    assertEquals(
        5,
        sum(workerAfter, "spool_job_start_latency_seconds_count", queue),
        "3 sleeps and 2 attempts of fail");
    assertEquals(0, sum(workerAfter, "spool_worker_jobs_running"));
    assertEquals(spool.config.worker().concurrency(), sum(workerAfter, "spool_worker_slots"));

    // The sampled gauges, the same on both: one dead letter, nothing pending, one worker alive.
    for (String base : List.of(gateway(), worker())) {
      Eventually.await(
          "queue gauges on " + base,
          Duration.ofSeconds(10),
          () -> {
            var now = scrape(base);
            return sum(now, "spool_dlq_jobs", queue) == 1
                && sum(now, "spool_queue_pending_jobs", queue) == 0
                && now.containsKey("spool_queue_lag_entries{" + queue + "}")
                && sum(now, "spool_workers_alive") == 1;
          });
    }
    // HTTP server meters by route template, never by path: no job id appears in any label.
    var exposition = get(gateway() + "/metrics", METRICS_TOKEN).body();
    assertTrue(
        exposition.contains("vertx_http_server_requests_total"),
        "Vert.x HTTP server meters: "
            + exposition
                .lines()
                .filter(l -> l.startsWith("vertx_"))
                .map(l -> l.replaceAll("[{ ].*", ""))
                .distinct()
                .toList());
    // vertx-web names a route by the templates it matched on the way: "/v1/>/v1/jobs/:id/cancel".
    assertTrue(
        exposition.contains("/v1/jobs/:id/cancel\"}"),
        "labelled by route template: "
            + exposition
                .lines()
                .filter(l -> l.startsWith("vertx_http_server_requests_total"))
                .toList());
    for (String id : ids) {
      assertFalse(exposition.contains(id), "job id " + id + " in a label");
    }
    assertFalse(get(worker() + "/metrics", METRICS_TOKEN).body().contains(retriedThenDead));
  }

  /**
   * Every name on the gateway's and the worker's /metrics passes Prometheus's own lint ({@code
   * promtool check metrics}: no {@code _count} or {@code _total} where they mislead, units in base
   * form), once jobs have run so that the meters made on first use are there too.
   */
  @Test
  void everyExportedNamePassesPromtoolsLint() {
    String completed =
        http.submit("{\"type\":\"sleep\",\"queue\":\"ops\",\"request\":{\"ms\":10}}");
    String failed =
        http.submit(
            "{\"type\":\"fail\",\"queue\":\"ops\",\"request\":{\"times\":-1},\"max_attempts\":1}");
    spool.awaitEnd(completed);
    spool.awaitEnd(failed);
    for (String base : List.of(gateway(), worker())) {
      var scraped = get(base + "/metrics", METRICS_TOKEN);
      assertEquals(200, scraped.statusCode(), base);
      String problems = promtoolCheckMetrics(scraped.body());
      assertEquals("", problems, "promtool check metrics on " + base + "/metrics");
      // The meters renamed for it are still there, under their new names.
      for (String renamed :
          List.of(
              "process_cpu_seconds_total ",
              "jvm_compilation_time_seconds_total ",
              "system_cpus ")) {
        assertTrue(
            scraped.body().contains("\n" + renamed), renamed.strip() + " on " + base + "/metrics");
      }
    }
  }

  /** What {@code promtool check metrics} says of {@code exposition}: nothing when it passes. */
  private static String promtoolCheckMetrics(String exposition) {
    Process promtool;
    try {
      promtool =
          new ProcessBuilder("promtool", "check", "metrics").redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new AssertionError(
          "promtool is not installed ("
              + e.getMessage()
              + "). bin/test installs it; or, as root: "
              + "apt-get install --no-install-recommends prometheus",
          e);
    }
    try (var stdin = promtool.getOutputStream()) {
      stdin.write(exposition.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try (var stdout = promtool.getInputStream()) {
      String said = new String(stdout.readAllBytes(), StandardCharsets.UTF_8).strip();
      if (!promtool.waitFor(60, TimeUnit.SECONDS)) {
        promtool.destroyForcibly();
        throw new AssertionError("promtool check metrics did not finish within 60 s");
      }
      return promtool.exitValue() == 0
          ? said
          : said.isEmpty() ? "exit " + promtool.exitValue() : said;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  @Test
  void oldestDuePendingJobIsExportedAsATimestampAndLagCountsUnreadSignals() {
    // A queue no worker reads: its job waits, due, and its signal stays unread.
    long before = System.currentTimeMillis() / 1000;
    http.submit("{\"type\":\"echo\",\"queue\":\"unserved\",\"request\":{}}");
    Eventually.await(
        "the waiting job in the gauges",
        Duration.ofSeconds(10),
        () -> {
          var now = scrape(gateway());
          return sum(now, "spool_queue_pending_jobs", "queue=\"unserved\"") == 1
              && sum(now, "spool_queue_lag_entries", "queue=\"unserved\"") == 1;
        });
    double oldest =
        sum(
            scrape(gateway()),
            "spool_queue_oldest_pending_timestamp_seconds",
            "queue=\"unserved\"");
    assertTrue(
        oldest >= before - 5 && oldest <= System.currentTimeMillis() / 1000.0 + 5,
        "oldest due at " + oldest);

    JsonNode queues = http.get("/v1/queues").json();
    JsonNode unserved = null;
    for (JsonNode q : queues.get("queues")) {
      if (q.get("queue").asText().equals("unserved")) {
        unserved = q;
      }
    }
    assertNotNull(unserved, queues.toString());
    assertEquals(1, unserved.get("pending").asInt());
    assertEquals(1, unserved.get("lag").asInt());
    assertEquals(0, unserved.get("running").asInt());
    assertFalse(unserved.get("oldest_pending_at").isNull());
    assertEquals("up", queues.get("redis").asText());
    assertEquals(1, queues.get("workers").asInt());
  }

  @Test
  void queueFiguresCountAWorkerThatStartedAfterTheGatewayWithoutWaitingForTheNextSample() {
    var env = TestServices.isolatedEnv(OpsTest.class);
    env.put("SPOOL_HTTP_PORT", String.valueOf(ProcessCluster.freePort()));
    // No periodic sample falls within the test: whatever it sees was read for its requests.
    env.put("SPOOL_QUEUE_STATS_SECS", "3600");
    env.put("SPOOL_SHUTDOWN_GRACE_SECS", "1");
    var config = SpoolConfig.fromEnv(env);
    var http = new HttpJson("http://127.0.0.1:" + config.gateway().port());
    try (var gateway = Gateway.start(config)) {
      Eventually.await(
          "the first figures",
          Duration.ofSeconds(10),
          () -> http.get("/v1/queues").status() == 200);
      JsonNode before = http.get("/v1/queues").json();
      assertEquals(0, before.get("workers").asInt(), before.toString());
      // As in bin/quickstart, or a dashboard opened as a cluster starts: the workers come up after
      // the gateway.
      try (var worker = Worker.start(config)) {
        Eventually.await(
            "the new worker in /v1/queues",
            Duration.ofSeconds(5),
            () -> http.get("/v1/queues").json().get("workers").asInt() == 1);
      }
      // However many ask at once, a stale sample is read again once, not once per request.
      sleep(Duration.ofMillis(1200));
      var answers = new ArrayList<Future<String>>();
      try (var threads = Executors.newVirtualThreadPerTaskExecutor()) {
        for (int i = 0; i < 20; i++) {
          answers.add(
              threads.submit(() -> http.get("/v1/queues").json().get("sampled_at").asText()));
        }
      }
      var reads = answers.stream().map(Future::resultNow).distinct().toList();
      assertEquals(1, reads.size(), "one read for 20 requests at once: " + reads);
    } finally {
      TestServices.cleanUp(config);
    }
  }

  private static void sleep(Duration time) {
    try {
      Thread.sleep(time);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  @Test
  void metricsAskForTheTokenWhenOneIsSetAndHealthStaysOpen() {
    for (String base : List.of(gateway(), worker())) {
      var refused = get(base + "/metrics", null);
      assertEquals(401, refused.statusCode(), base);
      assertTrue(
          refused
              .headers()
              .firstValue("Content-Type")
              .orElse("")
              .startsWith("application/problem+json"));
      assertEquals(401, get(base + "/metrics", "wrong-token-0123456789").statusCode());
      assertFalse(refused.body().contains(METRICS_TOKEN));

      var live = get(base + "/health/live", null);
      assertEquals(200, live.statusCode(), base);
      var ready = get(base + "/health/ready", null);
      assertEquals(200, ready.statusCode(), base);
      JsonNode readiness = JobJson.tree(ready.body());
      assertEquals("up", readiness.get("status").asText());
      assertEquals("up", readiness.get("postgres").asText());
      assertEquals("up", readiness.get("redis").asText());
    }
    assertEquals(
        404,
        get(worker() + "/v1/jobs", null).statusCode(),
        "the worker's port serves only ops paths");
  }

  @Test
  void aWorkerWhoseMetricsPortIsTakenNamesThePortAndTheSettingAndNeverRegisters() throws Exception {
    // A second worker on the same host, with the same SPOOL_METRICS_PORT as the first.
    try (var first = new ServerSocket(0)) {
      int port = first.getLocalPort();
      var env = TestServices.isolatedEnv(OpsTest.class);
      env.put("SPOOL_METRICS_PORT", String.valueOf(port));
      var config = SpoolConfig.fromEnv(env);
      try {
        var error = assertThrows(IllegalStateException.class, () -> Worker.start(config));
        assertEquals(
            "worker failed to start: SPOOL_METRICS_PORT "
                + port
                + " is already in use on this host; "
                + "set SPOOL_METRICS_PORT to a free port, or 0 to pick one",
            error.getMessage());
        assertEquals(
            0, workersRegistered(config), "a worker that did not start does not count as alive");
      } finally {
        TestServices.cleanUp(config);
      }
    }
  }

  @Test
  void aGatewayWhoseHttpPortIsTakenNamesThePortAndTheSetting() throws Exception {
    try (var first = new ServerSocket(0)) {
      int port = first.getLocalPort();
      var env = TestServices.isolatedEnv(OpsTest.class);
      env.put("SPOOL_HTTP_PORT", String.valueOf(port));
      var config = SpoolConfig.fromEnv(env);
      try {
        var error = assertThrows(IllegalStateException.class, () -> Gateway.start(config));
        assertEquals(
            "gateway failed to start: SPOOL_HTTP_PORT "
                + port
                + " is already in use on this host; "
                + "set SPOOL_HTTP_PORT to a free port",
            error.getMessage());
      } finally {
        TestServices.cleanUp(config);
      }
    }
  }

  private static long workersRegistered(SpoolConfig config) {
    var vertx = Vertx.vertx();
    try {
      return PgClients.client(vertx, config)
          .query("SELECT count(*) FROM workers")
          .execute()
          .await()
          .iterator()
          .next()
          .getLong(0);
    } finally {
      vertx.close().await();
    }
  }

  @Test
  void workerProcessLogsAStatsLineEveryIntervalAsJson() {
    try (var cluster =
        ProcessCluster.start(
            OpsTest.class,
            Map.of(
                "SPOOL_STATS_INTERVAL_SECS",
                "1",
                "SPOOL_QUEUE_STATS_SECS",
                "1",
                "SPOOL_LOG_FORMAT",
                "json"),
            1)) {
      String id = cluster.http.submit("{\"type\":\"sleep\",\"request\":{\"ms\":10}}");
      Eventually.await(
          "job done",
          Duration.ofSeconds(30),
          () ->
              cluster.http.get("/v1/jobs/" + id).json().get("status").asText().equals("completed"));
      SpoolProcess worker = cluster.workers.get(0);
      Eventually.await(
          "a stats line counting the job, and the next",
          Duration.ofSeconds(15),
          () -> {
            var lines = statsLines(worker.output());
            return lines.stream().anyMatch(s -> s.path("completed").asInt() == 1)
                && lines.get(lines.size() - 1).path("completed").asInt() == 0;
          });
      List<JsonNode> lines = statsLines(worker.output());
      JsonNode last = lines.get(lines.size() - 1);
      for (String field :
          List.of(
              "in_flight",
              "slots",
              "completed",
              "failed",
              "retried",
              "cancelled",
              "lag",
              "pending",
              "dlq")) {
        assertTrue(last.has(field), field + " in " + last);
      }
      assertEquals("io.spool.stats", last.get("logger_name").asText());
      assertEquals(10, last.get("slots").asInt());
      // Every line the process printed is JSON.
      for (String line : worker.output().split("\n")) {
        if (!line.isBlank()) {
          JobJson.tree(line);
        }
      }
    }
  }

  private static List<JsonNode> statsLines(String output) {
    var lines = new ArrayList<JsonNode>();
    Matcher m = Pattern.compile("(?m)^\\{.*\"message\":\"stats\".*$").matcher(output);
    while (m.find()) {
      lines.add(JobJson.tree(m.group()));
    }
    return lines;
  }
}
