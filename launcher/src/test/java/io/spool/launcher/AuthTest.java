package io.spool.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.testing.HttpJson;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.WebSocketHandshakeException;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** API keys on every route kind, and each user seeing only their own jobs. */
class AuthTest {
  private static final String ALICE_KEY = "alice-key-0123456789abcdef";
  private static final String BOB_KEY = "bob-key-0123456789abcdef";
  static InProcessSpool spool;
  static String base;
  static HttpJson anonymous;
  static HttpJson alice;
  static HttpJson bob;
  static final HttpClient client = HttpClient.newHttpClient();

  @BeforeAll
  static void start() {
    spool =
        InProcessSpool.start(
            AuthTest.class,
            Map.of(
                "SPOOL_AUTH",
                "keys",
                "SPOOL_API_KEYS",
                ALICE_KEY + "=alice, " + BOB_KEY + "=bob",
                "SPOOL_RETRY_BASE_MILLIS",
                "10"));
    base = "http://127.0.0.1:" + spool.config.gateway().port();
    anonymous = new HttpJson(base);
    alice = new HttpJson(base, ALICE_KEY);
    bob = new HttpJson(base, BOB_KEY);
  }

  @AfterAll
  static void stop() {
    spool.close();
  }

  /** Every /v1 route, as method and path, for a job id. */
  private static List<String[]> routes(String id) {
    return List.of(
        new String[] {"POST", "/v1/jobs"},
        new String[] {"POST", "/v1/jobs/batch"},
        new String[] {"GET", "/v1/jobs"},
        new String[] {"GET", "/v1/jobs/" + id},
        new String[] {"GET", "/v1/jobs/" + id + "/events"},
        new String[] {"GET", "/v1/jobs/" + id + "/ws"},
        new String[] {"GET", "/v1/ws"},
        new String[] {"POST", "/v1/jobs/" + id + "/cancel"},
        new String[] {"GET", "/v1/dlq"},
        new String[] {"POST", "/v1/dlq/" + id + "/requeue"},
        new String[] {"DELETE", "/v1/dlq/" + id});
  }

  private static HttpJson.Response call(HttpJson as, String method, String path) {
    var request =
        HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json");
    return as.send(
        method.equals("POST")
            ? request.POST(HttpRequest.BodyPublishers.ofString("{\"type\":\"echo\"}"))
            : request.method(method, HttpRequest.BodyPublishers.noBody()));
  }

  @Test
  void everyRouteAnswersAMissingOrWrongKeyWith401() {
    String id = alice.submit("{\"type\":\"echo\"}");
    var wrong = new HttpJson(base, "not-a-key-0123456789abcdef");
    for (String[] route : routes(id)) {
      for (HttpJson as : List.of(anonymous, wrong)) {
        var response = call(as, route[0], route[1]);
        assertEquals(
            401, response.status(), route[0] + " " + route[1] + " -> " + response.raw().body());
        assertEquals("application/problem+json", response.header("Content-Type"));
        assertEquals("Bearer realm=\"spool\"", response.header("WWW-Authenticate"));
        assertFalse(response.raw().body().contains("not-a-key"), "the key is never echoed");
      }
    }
    var basic =
        anonymous.send(
            HttpRequest.newBuilder(URI.create(base + "/v1/jobs"))
                .header("Authorization", "Basic YTpi"));
    assertEquals(401, basic.status(), "only Bearer keys");
  }

  @Test
  void healthStaysOpen() {
    assertEquals(200, anonymous.get("/health/live").status());
    assertEquals(200, anonymous.get("/health/ready").status());
  }

  @Test
  void webSocketAndSseAskForTheKeyAndTakeItAsAccessToken() throws Exception {
    String id = alice.submit("{\"type\":\"echo\"}");
    spool.awaitEnd(id, alice);
    String ws = base.replace("http", "ws");
    for (String url :
        List.of(
            ws + "/v1/jobs/" + id + "/ws",
            ws + "/v1/ws",
            ws + "/v1/jobs/" + id + "/ws?access_token=wrong-key-0123456789")) {
      var refused =
          org.junit.jupiter.api.Assertions.assertThrows(
              ExecutionException.class,
              () ->
                  client
                      .newWebSocketBuilder()
                      .buildAsync(URI.create(url), new EventStreamTest.Collector())
                      .get(10, TimeUnit.SECONDS));
      assertEquals(
          401, ((WebSocketHandshakeException) refused.getCause()).getResponse().statusCode(), url);
    }
    var collector = new EventStreamTest.Collector();
    client
        .newWebSocketBuilder()
        .header("Authorization", "Bearer " + ALICE_KEY)
        .buildAsync(URI.create(ws + "/v1/jobs/" + id + "/ws"), collector)
        .get(10, TimeUnit.SECONDS);
    collector.closed.get(10, TimeUnit.SECONDS);
    assertEquals("end", collector.messages.get(collector.messages.size() - 1).get("type").asText());
    var viaToken = new EventStreamTest.Collector();
    client
        .newWebSocketBuilder()
        .buildAsync(URI.create(ws + "/v1/jobs/" + id + "/ws?access_token=" + ALICE_KEY), viaToken)
        .get(10, TimeUnit.SECONDS);
    viaToken.closed.get(10, TimeUnit.SECONDS);
    assertEquals("end", viaToken.messages.get(viaToken.messages.size() - 1).get("type").asText());

    var sse = anonymous.get("/v1/jobs/" + id + "/events?access_token=" + ALICE_KEY);
    assertEquals(200, sse.status(), sse.raw().body());
    assertTrue(sse.raw().body().contains("event: end"), sse.raw().body());
    assertEquals(401, anonymous.get("/v1/jobs/" + id + "/events").status());
    assertEquals(
        401,
        anonymous.get("/v1/jobs/" + id + "?access_token=" + ALICE_KEY).status(),
        "only the event routes take the key in the URL");
  }

  @Test
  void anotherUsersJobIsNotFoundOnEveryRouteExactlyAsAnUnknownOne() throws Exception {
    String pending = alice.submit("{\"type\":\"echo\",\"delay_secs\":3600}");
    String dead = alice.submit("{\"type\":\"fail\",\"max_attempts\":1,\"request\":{\"times\":-1}}");
    assertEquals("failed", spool.awaitEnd(dead, alice).get("status").asText());
    String unknown = UUID.randomUUID().toString();
    for (String id : List.of(pending, dead)) {
      for (String[] route : routes(id)) {
        if (!route[1].contains(id)) {
          continue;
        }
        var theirs = call(bob, route[0], route[1]);
        var nobodys = call(bob, route[0], route[1].replace(id, unknown));
        assertEquals(
            404, theirs.status(), route[0] + " " + route[1] + " -> " + theirs.raw().body());
        assertEquals(
            nobodys.raw().body().replace(unknown, id),
            theirs.raw().body(),
            "indistinguishable from an unknown id");
      }
    }
    assertFalse(bob.get("/v1/jobs?limit=500").raw().body().contains(pending));
    assertFalse(bob.get("/v1/dlq?limit=500").raw().body().contains(dead));
    assertTrue(alice.get("/v1/dlq?limit=500").raw().body().contains(dead));
    // Bob's requests changed nothing of Alice's.
    assertEquals("pending", alice.get("/v1/jobs/" + pending).json().get("status").asText());
    assertEquals(200, alice.post("/v1/jobs/" + pending + "/cancel", "").status());

    var socket = new EventStreamTest.Collector();
    var multi =
        client
            .newWebSocketBuilder()
            .header("Authorization", "Bearer " + BOB_KEY)
            .buildAsync(URI.create(base.replace("http", "ws") + "/v1/ws"), socket)
            .get(10, TimeUnit.SECONDS);
    multi
        .sendText("{\"op\":\"subscribe\",\"job_id\":\"" + dead + "\",\"after\":0}", true)
        .get(10, TimeUnit.SECONDS);
    io.spool.testing.Eventually.await(
        "bob is told there is no such job",
        java.time.Duration.ofSeconds(10),
        () -> !socket.messages.isEmpty());
    JsonNode answer = socket.messages.get(0);
    assertEquals("error", answer.get("type").asText(), answer.toString());
    assertEquals(1, socket.messages.size(), "no event of alice's job reached bob");
    multi.abort();
  }

  @Test
  void idempotencyKeysBelongToTheirUser() {
    var first =
        alice.send(
            HttpRequest.newBuilder(URI.create(base + "/v1/jobs"))
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", "order-77")
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"type\":\"echo\",\"request\":{\"a\":1}}")));
    var other =
        bob.send(
            HttpRequest.newBuilder(URI.create(base + "/v1/jobs"))
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", "order-77")
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"type\":\"echo\",\"request\":{\"b\":2}}")));
    assertEquals(202, first.status(), first.raw().body());
    assertEquals(
        202,
        other.status(),
        "the same key of another user is not a conflict: " + other.raw().body());
    assertNotEquals(first.json().get("id"), other.json().get("id"));
    assertEquals("bob", other.json().get("user_id").asText());
  }
}
