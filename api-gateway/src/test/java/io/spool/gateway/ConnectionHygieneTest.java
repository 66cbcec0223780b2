package io.spool.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spool.testing.HttpJson;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What a connection may hold, and what happens to it after an early answer: the gateway reads (or
 * closes) what it did not want, and bounds silent, slow and idle clients. With the rate limiter on,
 * because it pauses every request while Redis answers.
 */
class ConnectionHygieneTest {
  private static final String KEY = "hygiene-key-0123456789";
  private static final Map<String, String> AUTH = Map.of("Authorization", "Bearer " + KEY);
  private static final String GOOD = "{\"type\":\"echo\",\"request\":{}}";
  private static TestGateway running;
  private static int port;

  @BeforeAll
  static void start() {
    running =
        TestGateway.start(
            ConnectionHygieneTest.class,
            Map.of(
                "SPOOL_AUTH",
                "keys",
                "SPOOL_API_KEYS",
                KEY + "=alice",
                "SPOOL_RATE_LIMIT",
                "1000",
                "SPOOL_HTTP_HEADER_TIMEOUT_SECS",
                "1",
                "SPOOL_HTTP_BODY_TIMEOUT_SECS",
                "2",
                "SPOOL_HTTP_IDLE_TIMEOUT_SECS",
                "2"),
            "echo");
    port = running.config.gateway().port();
  }

  @AfterAll
  static void stop() {
    running.close();
  }

  @Test
  void aBodyTooLargeIsAnswered413WhileItIsStillArrivingThenTheConnectionCloses() throws Exception {
    int size = 3 << 20;
    try (var client = new RawHttp(port, 10_000)) {
      client.write(
          RawHttp.head(
              "POST",
              "/v1/jobs",
              Map.of(
                  "Authorization",
                  "Bearer " + KEY,
                  "Content-Type",
                  "application/json",
                  "Content-Length",
                  String.valueOf(size))));
      var answer = client.read();
      assertEquals(413, answer.status());
      assertEquals("close", answer.header("Connection"));
      assertEquals(Problem.CONTENT_TYPE, answer.header("Content-Type"));
      // The gateway must go on reading: a paused connection would leave this write blocked and the
      // connection open for ever (undici then sends its next request on it and waits in vain).
      var sent =
          CompletableFuture.runAsync(
              () -> {
                try {
                  client.write(new byte[size]);
                } catch (IOException closedAfterEnough) {
                  // closed once it had read enough: fine too
                }
              });
      sent.get(10, TimeUnit.SECONDS);
      assertTrue(
          client.closedByServer(), "the connection closes once the unwanted body has arrived");
    }
    assertEquals(202, new HttpJson(running.base, KEY).post("/v1/jobs", GOOD).status());
    assertTrue(closed("body_not_read") >= 1);
  }

  @Test
  void anEarlyAnswerToASmallBodyKeepsTheConnectionForTheNextRequest() throws Exception {
    String body = "{\"type\":\"echo\",\"request\":{\"pad\":\"" + "x".repeat(4000) + "\"}}";
    String request = RawHttp.post("/v1/jobs", body, Map.of());
    try (var client = new RawHttp(port, 10_000)) {
      // No key: answered 401 before the body is read; then the rest of the body and a good request.
      client.write(request.substring(0, 200));
      assertEquals(401, client.read().status());
      client.write(request.substring(200) + RawHttp.post("/v1/jobs", GOOD, AUTH));
      var answer = client.read();
      assertEquals(202, answer.status(), answer.body());
      // Pipelined: three at once on one connection, answered in order.
      client.write(
          RawHttp.post("/v1/jobs", "{type", AUTH)
              + RawHttp.post("/v1/jobs", GOOD, AUTH)
              + RawHttp.head("GET", "/health/live", Map.of()));
      assertEquals(400, client.read().status());
      assertEquals(202, client.read().status());
      assertEquals(200, client.read().status());
    }
  }

  @Test
  void aRefusedWebSocketUpgradeLeavesTheConnectionForTheNextRequest() throws Exception {
    try (var client = new RawHttp(port, 5_000)) {
      // The WebSocket route holds the request (paused) while it checks the job, then answers 404.
      client.write(
          RawHttp.head(
              "GET",
              "/v1/jobs/" + java.util.UUID.randomUUID() + "/ws",
              Map.of(
                  "Authorization",
                  "Bearer " + KEY,
                  "Upgrade",
                  "websocket",
                  "Connection",
                  "Upgrade",
                  "Sec-WebSocket-Key",
                  "dGhlIHNhbXBsZSBub25jZQ==",
                  "Sec-WebSocket-Version",
                  "13")));
      var refused = client.read();
      assertEquals(404, refused.status());
      assertEquals(null, refused.header("Connection"));
      client.write(RawHttp.head("GET", "/health/live", Map.of()));
      assertEquals(200, client.read().status());
    }
  }

  @Test
  void webSocketsOpenBehindTheRateLimiterAndAreNotCompressedEvenWhenTheClientOffersIt()
      throws Exception {
    // Events are small JSON fanned out to many sockets: deflating each frame once per socket would
    // cost more CPU than the bytes it saves.
    try (var client = new RawHttp(port, 5_000)) {
      client.write(
          RawHttp.head(
              "GET",
              "/v1/ws",
              Map.of(
                  "Authorization",
                  "Bearer " + KEY,
                  "Upgrade",
                  "websocket",
                  "Connection",
                  "Upgrade",
                  "Sec-WebSocket-Key",
                  "dGhlIHNhbXBsZSBub25jZQ==",
                  "Sec-WebSocket-Version",
                  "13",
                  "Sec-WebSocket-Extensions",
                  "permessage-deflate; client_max_window_bits")));
      var answer = client.read();
      assertEquals(101, answer.status());
      assertEquals(null, answer.header("Sec-WebSocket-Extensions"));
    }
    // A job's own socket too, behind the rate limiter, which holds the handshake while Redis
    // answers.
    String id = new HttpJson(running.base, KEY).submit(GOOD);
    try (var client = new RawHttp(port, 5_000)) {
      client.write(
          RawHttp.head(
              "GET",
              "/v1/jobs/" + id + "/ws",
              Map.of(
                  "Authorization",
                  "Bearer " + KEY,
                  "Upgrade",
                  "websocket",
                  "Connection",
                  "Upgrade",
                  "Sec-WebSocket-Key",
                  "dGhlIHNhbXBsZSBub25jZQ==",
                  "Sec-WebSocket-Version",
                  "13")));
      assertEquals(101, client.read().status());
    }
  }

  @Test
  void aSilentOrTricklingClientIsClosedAfterTheHeaderTimeout() throws Exception {
    double before = closed("header_timeout");
    try (var silent = new RawHttp(port, 5_000)) {
      long start = System.nanoTime();
      assertTrue(silent.closedByServer(), "a connection that never sends a request head is closed");
      assertTrue(Duration.ofNanos(System.nanoTime() - start).toMillis() >= 900);
    }
    try (var trickling = new RawHttp(port, 300)) {
      trickling.write("POST /v1/jobs HTTP/1.1\r\nHost: x\r\n");
      boolean closed = false;
      for (int i = 0; i < 20 && !closed; i++) {
        try {
          trickling.write("X-Slow-" + i + ": y\r\n");
        } catch (IOException e) {
          closed = true;
          break;
        }
        closed = trickling.closedByServer();
      }
      assertTrue(closed, "a head sent a line every 300 ms is cut off");
    }
    assertTrue(closed("header_timeout") >= before + 2);
  }

  @Test
  void aBodyThatStopsArrivingIsAnswered408AndClosed() throws Exception {
    try (var client = new RawHttp(port, 6_000)) {
      client.write(
          RawHttp.head(
                  "POST",
                  "/v1/jobs",
                  Map.of(
                      "Authorization",
                      "Bearer " + KEY,
                      "Content-Type",
                      "application/json",
                      "Content-Length",
                      "100"))
              + "{\"type\":");
      var answer = client.read();
      assertEquals(408, answer.status());
      assertEquals("close", answer.header("Connection"));
      assertTrue(answer.body().contains("SPOOL_HTTP_BODY_TIMEOUT_SECS"), answer.body());
      assertTrue(client.closedByServer());
    }
    assertTrue(closed("body_timeout") >= 1);
  }

  @Test
  void anIdleConnectionIsClosedButALongPollLongerThanTheIdleTimeoutIsNot() throws Exception {
    String id = new HttpJson(running.base, KEY).submit(GOOD);
    try (var client = new RawHttp(port, 8_000)) {
      long start = System.nanoTime();
      // No worker runs here: the job stays pending and the long-poll waits its whole 3 s.
      client.write(RawHttp.head("GET", "/v1/jobs/" + id + "?wait_secs=3", AUTH));
      var answer = client.read();
      assertEquals(200, answer.status());
      assertTrue(Duration.ofNanos(System.nanoTime() - start).toMillis() >= 2900);
      assertTrue(client.closedByServer(), "idle after its answer, the connection is closed");
    }
    assertTrue(closed("idle_timeout") >= 1);
  }

  @Test
  void aClientThatLeavesMidBodyIsCountedAndTheGatewayServesOn() throws Exception {
    double before = closed("client_closed_mid_request");
    try (var client = new RawHttp(port, 2_000)) {
      client.write(
          RawHttp.head(
                  "POST",
                  "/v1/jobs",
                  Map.of(
                      "Authorization",
                      "Bearer " + KEY,
                      "Content-Type",
                      "application/json",
                      "Content-Length",
                      "1000"))
              + "{\"type\":\"echo\"");
      Thread.sleep(200);
    }
    io.spool.testing.Eventually.await(
        "the drop counted",
        Duration.ofSeconds(5),
        () -> closed("client_closed_mid_request") >= before + 1);
    assertEquals(202, new HttpJson(running.base, KEY).post("/v1/jobs", GOOD).status());
  }

  @Test
  void aRequestThatIsNotHttpIsAnswered400AndClosed() throws Exception {
    try (var client = new RawHttp(port, 5_000)) {
      client.write("HELLO\r\n\r\n");
      var answer = client.read();
      assertEquals(400, answer.status());
      assertTrue(client.closedByServer());
    }
    assertFalse(closed("invalid_request") < 1);
  }

  /** {@code spool_http_connections_closed_total{reason}} from the gateway's /metrics. */
  private static double closed(String reason) {
    String metrics = new HttpJson(running.base).get("/metrics").raw().body();
    Matcher m =
        Pattern.compile(
                "(?m)^spool_http_connections_closed_total\\{reason=\"" + reason + "\"\\} (\\S+)$")
            .matcher(metrics);
    assertTrue(
        m.find(), "no spool_http_connections_closed_total{reason=\"" + reason + "\"} in /metrics");
    return Double.parseDouble(m.group(1));
  }
}
