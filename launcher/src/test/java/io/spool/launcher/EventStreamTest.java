package io.spool.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.config.SpoolConfig;
import io.spool.gateway.Gateway;
import io.spool.launcher.Sse.Frame;
import io.spool.model.JobJson;
import io.spool.signal.RedisClients;
import io.spool.testing.Eventually;
import io.spool.testing.HttpJson;
import io.spool.testing.TestServices;
import io.spool.worker.Worker;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Progress over SSE and WebSocket, resume, late subscribers, a lost log, two gateways, long-poll.
 */
class EventStreamTest {
  static SpoolConfig config;
  static SpoolConfig secondGatewayConfig;
  static Gateway gateway;
  static Gateway secondGateway;
  static Worker worker;
  static HttpJson http;
  static String base;
  static String secondBase;
  static final HttpClient client = HttpClient.newHttpClient();

  @BeforeAll
  static void start() {
    Map<String, String> env = TestServices.isolatedEnv(EventStreamTest.class);
    env.put("SPOOL_HTTP_PORT", String.valueOf(ProcessCluster.freePort()));
    env.put("SPOOL_SHUTDOWN_GRACE_SECS", "1");
    config = SpoolConfig.fromEnv(env);
    var second = new HashMap<>(env);
    second.put("SPOOL_HTTP_PORT", String.valueOf(ProcessCluster.freePort()));
    secondGatewayConfig = SpoolConfig.fromEnv(second);
    gateway = Gateway.start(config);
    secondGateway = Gateway.start(secondGatewayConfig);
    worker = Worker.start(config);
    base = "http://127.0.0.1:" + config.gateway().port();
    secondBase = "http://127.0.0.1:" + secondGatewayConfig.gateway().port();
    http = new HttpJson(base);
  }

  @AfterAll
  static void stop() {
    worker.close();
    secondGateway.close();
    gateway.close();
    TestServices.cleanUp(config);
  }

  private static String submit(String json) {
    return http.submit(json);
  }

  private static List<Frame> readSse(String url, String lastEventId) throws Exception {
    return Sse.read(url, lastEventId);
  }

  private static void assertOrderedToEnd(List<Frame> frames) {
    assertFalse(frames.isEmpty());
    for (int i = 1; i < frames.size(); i++) {
      assertTrue(frames.get(i).id() > frames.get(i - 1).id(), "seq strictly increasing: " + frames);
    }
    Frame end = frames.get(frames.size() - 1);
    assertEquals("end", end.event());
    for (Frame frame : frames) {
      var fields = new java.util.TreeSet<String>();
      frame.data().fieldNames().forEachRemaining(fields::add);
      assertEquals(
          java.util.Set.of("job_id", "seq", "type", "attempt", "ts", "data"),
          fields,
          "the event's wire form");
      assertEquals(frame.event(), frame.data().get("type").asText());
      assertEquals(frame.id(), frame.data().get("seq").asLong());
    }
  }

  @Test
  void sseStreamsStatusAndProgressInOrderThenEndsWithTheFinalJob() throws Exception {
    String id = submit("{\"type\":\"sleep\",\"request\":{\"ms\":600,\"steps\":3}}");
    List<Frame> frames = readSse(base + "/v1/jobs/" + id + "/events", null);
    assertOrderedToEnd(frames);
    List<String> kinds =
        frames.stream()
            .map(
                f ->
                    f.event()
                        + (f.event().equals("status")
                            ? ":" + f.data().get("data").get("status").asText()
                            : f.event().equals("progress")
                                ? ":" + f.data().get("data").get("step").asInt()
                                : ""))
            .toList();
    assertEquals(
        List.of(
            "status:running",
            "progress:1",
            "checkpoint",
            "progress:2",
            "checkpoint",
            "progress:3",
            "checkpoint",
            "status:completed",
            "end"),
        kinds);
    JsonNode finalJob = frames.get(frames.size() - 1).data().get("data");
    assertEquals("completed", finalJob.get("status").asText());
    assertEquals(600, finalJob.get("result").get("slept_ms").asInt());
  }

  @Test
  void lateSubscriberGetsTheWholeLogAndResumesAfterLastEventId() throws Exception {
    String id = submit("{\"type\":\"sleep\",\"request\":{\"ms\":30,\"steps\":3}}");
    Eventually.await(
        "the job ended",
        Duration.ofSeconds(20),
        () -> http.get("/v1/jobs/" + id).json().get("status").asText().equals("completed"));
    List<Frame> all = readSse(base + "/v1/jobs/" + id + "/events", null);
    assertOrderedToEnd(all);
    assertEquals(9, all.size(), all.toString()); // status, 3 x (progress, checkpoint), status, end
    long resumeAfter = all.get(2).id();
    List<Frame> rest = readSse(base + "/v1/jobs/" + id + "/events", String.valueOf(resumeAfter));
    assertOrderedToEnd(rest);
    assertTrue(rest.stream().allMatch(f -> f.id() > resumeAfter), rest.toString());
    assertEquals(all.size() - 3, rest.size());
  }

  @Test
  void aRequeuedJobsEventsFromTheStartEndWithItsNewRunNotTheFirst() throws Exception {
    // Fails its first attempt into the DLQ; requeued, the second attempt completes.
    String id = submit("{\"type\":\"fail\",\"request\":{\"times\":1},\"max_attempts\":1}");
    Eventually.await(
        "dead-lettered",
        Duration.ofSeconds(20),
        () -> http.get("/v1/jobs/" + id).json().get("status").asText().equals("failed"));
    long firstRunEnd = readSse(base + "/v1/jobs/" + id + "/events", null).getLast().id();
    assertEquals(200, http.post("/v1/dlq/" + id + "/requeue", "").status());

    List<Frame> frames = readSse(base + "/v1/jobs/" + id + "/events", null);
    assertOrderedToEnd(frames);
    assertEquals(
        "completed", frames.getLast().data().get("data").get("status").asText(), frames.toString());
    assertTrue(
        frames.getFirst().id() > firstRunEnd, "only the new run's events, numbered on: " + frames);
    List<String> statuses =
        frames.stream()
            .filter(f -> f.event().equals("status"))
            .map(f -> f.data().get("data").get("status").asText())
            .toList();
    assertFalse(statuses.contains("failed"), "nothing of the first run: " + statuses);
    assertEquals("completed", statuses.getLast());
  }

  @Test
  void finishedJobWhoseLogIsGoneStillGetsItsEnd() throws Exception {
    String id = submit("{\"type\":\"echo\",\"request\":{\"kept\":\"in postgres\"}}");
    Eventually.await(
        "the job ended",
        Duration.ofSeconds(20),
        () -> http.get("/v1/jobs/" + id).json().get("status").asText().equals("completed"));
    Vertx vertx = Vertx.vertx();
    try {
      var redis = RedisClients.client(vertx, config, 1);
      redis
          .send(Request.cmd(Command.DEL).arg(config.keys().jobEvents(UUID.fromString(id))))
          .await();
    } finally {
      vertx.close().await();
    }
    List<Frame> frames = readSse(base + "/v1/jobs/" + id + "/events", null);
    assertEquals(1, frames.size(), frames.toString());
    assertEquals("end", frames.get(0).event());
    assertEquals(
        "in postgres", frames.get(0).data().get("data").get("result").get("kept").asText());
  }

  @Test
  void subscriberOfAJobThatEndsWithoutAnyEventIsNotLeftHanging() throws Exception {
    // A job in a queue no worker consumes, ended behind the event log's back (as if Redis had been
    // away).
    String id = submit("{\"type\":\"echo\",\"queue\":\"unwatched\"}");
    var frames = Sse.readAsync(base + "/v1/jobs/" + id + "/events");
    Thread.sleep(500);
    Vertx vertx = Vertx.vertx();
    try {
      io.spool.store.PgClients.client(vertx, config)
          .preparedQuery("UPDATE jobs SET status = 'cancelled', finished_at = now() WHERE id = $1")
          .execute(io.vertx.sqlclient.Tuple.of(UUID.fromString(id)))
          .await();
    } finally {
      vertx.close().await();
    }
    List<Frame> received = frames.get(60, TimeUnit.SECONDS);
    assertEquals("end", received.get(received.size() - 1).event());
    assertEquals(
        "cancelled", received.get(received.size() - 1).data().get("data").get("status").asText());
  }

  @Test
  void eventsReachAClientOnEitherGateway() throws Exception {
    String id = submit("{\"type\":\"sleep\",\"request\":{\"ms\":400,\"steps\":2}}");
    List<Frame> frames = readSse(secondBase + "/v1/jobs/" + id + "/events", null);
    assertOrderedToEnd(frames);
    assertTrue(frames.stream().anyMatch(f -> f.event().equals("progress")), frames.toString());
  }

  /** Collects a WebSocket's text frames until the server closes it. */
  static final class Collector implements WebSocket.Listener {
    final List<JsonNode> messages = new CopyOnWriteArrayList<>();
    final CompletableFuture<Integer> closed = new CompletableFuture<>();
    private final StringBuilder partial = new StringBuilder();

    @Override
    public CompletionStage<?> onText(WebSocket socket, CharSequence data, boolean last) {
      partial.append(data);
      if (last) {
        messages.add(JobJson.tree(partial.toString()));
        partial.setLength(0);
      }
      socket.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket socket, int statusCode, String reason) {
      closed.complete(statusCode);
      return null;
    }
  }

  private static WebSocket connect(String url, Collector collector) throws Exception {
    return client
        .newWebSocketBuilder()
        .buildAsync(URI.create(url), collector)
        .get(10, TimeUnit.SECONDS);
  }

  @Test
  void webSocketSendsEveryEventThenEndThenCloses() throws Exception {
    String id = submit("{\"type\":\"sleep\",\"request\":{\"ms\":300,\"steps\":3}}");
    var collector = new Collector();
    connect(base.replace("http", "ws") + "/v1/jobs/" + id + "/ws", collector);
    collector.closed.get(30, TimeUnit.SECONDS);
    List<String> types = collector.messages.stream().map(m -> m.get("type").asText()).toList();
    assertEquals(
        List.of(
            "status",
            "progress",
            "checkpoint",
            "progress",
            "checkpoint",
            "progress",
            "checkpoint",
            "status",
            "end"),
        types);
    assertEquals(3, collector.messages.get(6).get("data").get("steps_done").asInt());
    assertEquals("completed", collector.messages.get(8).get("data").get("status").asText());
  }

  @Test
  void manySocketsOnOneJobEachGetEveryEventAndTheSameFinalJob() throws Exception {
    String id = submit("{\"type\":\"sleep\",\"request\":{\"ms\":600,\"steps\":3}}");
    var collectors = new ArrayList<Collector>();
    for (int i = 0; i < 40; i++) {
      var collector = new Collector();
      connect(base.replace("http", "ws") + "/v1/jobs/" + id + "/ws", collector);
      collectors.add(collector);
    }
    for (Collector collector : collectors) {
      collector.closed.get(30, TimeUnit.SECONDS);
      List<Long> seqs = collector.messages.stream().map(m -> m.get("seq").asLong()).toList();
      assertEquals(seqs.stream().sorted().distinct().toList(), seqs, "in order, each once");
      JsonNode end = collector.messages.get(collector.messages.size() - 1);
      assertEquals("end", end.get("type").asText());
      assertEquals("completed", end.get("data").get("status").asText());
      assertEquals(id, end.get("data").get("id").asText());
      assertEquals(
          3,
          collector.messages.stream()
              .filter(m -> m.get("type").asText().equals("progress"))
              .count());
    }
  }

  @Test
  void oneSocketFollowsSeveralJobsAndStaysOpen() throws Exception {
    String first = submit("{\"type\":\"sleep\",\"request\":{\"ms\":200,\"steps\":2}}");
    String second = submit("{\"type\":\"echo\"}");
    var collector = new Collector();
    WebSocket socket = connect(base.replace("http", "ws") + "/v1/ws", collector);
    socket
        .sendText("{\"op\":\"subscribe\",\"job_id\":\"" + first + "\"}", true)
        .get(5, TimeUnit.SECONDS);
    socket
        .sendText("{\"op\":\"subscribe\",\"job_id\":\"" + second + "\"}", true)
        .get(5, TimeUnit.SECONDS);
    socket
        .sendText("{\"op\":\"subscribe\",\"job_id\":\"" + UUID.randomUUID() + "\"}", true)
        .get(5, TimeUnit.SECONDS);
    socket.sendText("not json", true).get(5, TimeUnit.SECONDS);
    Eventually.await(
        "both jobs ended on the one socket",
        Duration.ofSeconds(30),
        () ->
            collector.messages.stream().filter(m -> m.get("type").asText().equals("end")).count()
                == 2);
    assertEquals(
        2, collector.messages.stream().filter(m -> m.get("type").asText().equals("error")).count());
    assertFalse(collector.closed.isDone(), "the socket stays open");
    socket.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(5, TimeUnit.SECONDS);
  }

  @Test
  void subscribingTwiceAtOnceFollowsTheJobOnce() throws Exception {
    String id = submit("{\"type\":\"sleep\",\"request\":{\"ms\":300,\"steps\":3}}");
    var collector = new Collector();
    WebSocket socket = connect(base.replace("http", "ws") + "/v1/ws", collector);
    // Both arrive before the first's ownership check can answer.
    socket
        .sendText("{\"op\":\"subscribe\",\"job_id\":\"" + id + "\"}", true)
        .get(5, TimeUnit.SECONDS);
    socket
        .sendText("{\"op\":\"subscribe\",\"job_id\":\"" + id + "\"}", true)
        .get(5, TimeUnit.SECONDS);
    Eventually.await(
        "the job ended on the socket",
        Duration.ofSeconds(30),
        () -> collector.messages.stream().anyMatch(m -> m.get("type").asText().equals("end")));
    List<JsonNode> events =
        collector.messages.stream().filter(m -> !m.get("type").asText().equals("error")).toList();
    assertEquals(
        events.stream().map(m -> m.get("seq").asLong()).distinct().count(),
        events.size(),
        "each event once: " + events);
    assertEquals(
        "already subscribed",
        collector.messages.stream()
            .filter(m -> m.get("type").asText().equals("error"))
            .findFirst()
            .orElseThrow()
            .get("message")
            .asText());
    socket.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(5, TimeUnit.SECONDS);
  }

  @Test
  void longPollAnswersAsSoonAsTheJobEnds() {
    String id = submit("{\"type\":\"sleep\",\"request\":{\"ms\":1000}}");
    Instant asked = Instant.now();
    JsonNode job = http.get("/v1/jobs/" + id + "?wait_secs=30").json();
    Duration waited = Duration.between(asked, Instant.now());
    assertEquals("completed", job.get("status").asText());
    assertTrue(
        waited.toSeconds() < 25, "answered when the job ended, not at the timeout: " + waited);
    // A job that does not end in time is answered as it is, at the timeout.
    String slow = submit("{\"type\":\"sleep\",\"request\":{\"ms\":30000}}");
    Instant polled = Instant.now();
    JsonNode still = http.get("/v1/jobs/" + slow + "?wait_secs=1").json();
    assertFalse(still.get("status").asText().equals("completed"));
    assertTrue(Duration.between(polled, Instant.now()).toMillis() >= 900, "waited out the timeout");
  }
}
