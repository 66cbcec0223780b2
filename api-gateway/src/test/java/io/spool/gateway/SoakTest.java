package io.spool.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.model.JobJson;
import io.spool.testing.HttpJson;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Real keep-alive clients, the JDK's {@link HttpClient} and Node's {@code fetch} (plus raw sockets
 * for what libraries do not do), interleave oversized bodies, malformed JSON, wrong content types,
 * early disconnects mid-body, slow senders, pipelined requests and good submissions, all at once.
 * Every request must get its whole answer, every good submission must be stored exactly once and
 * nothing abandoned mid-body stored at all, and the gateway must still answer afterwards.
 */
class SoakTest {
  private static final String KEY = "soak-key-0123456789abcdef";
  private static final int JAVA_CLIENTS = 3;
  private static final int NODE_LOOPS = 3;
  private static final int REQUESTS_PER_CLIENT = 48;
  private static TestGateway running;

  @BeforeAll
  static void start() {
    // The rate limiter on: it holds every request with a body while Redis answers.
    running =
        TestGateway.start(
            SoakTest.class,
            Map.of(
                "SPOOL_AUTH",
                "keys",
                "SPOOL_API_KEYS",
                KEY + "=soak",
                "SPOOL_RATE_LIMIT",
                "100000"),
            "echo");
  }

  @AfterAll
  static void stop() {
    running.close();
  }

  /** One request's outcome: what was expected, and what came (a status, or what went wrong). */
  record Outcome(String client, String kind, Object expected, Object status) {}

  @Test
  void everyRequestIsAnsweredAndEveryGoodSubmissionStoredOnce() throws Exception {
    var outcomes = Collections.synchronizedList(new ArrayList<Outcome>());
    var goods = Collections.synchronizedSet(new TreeSet<String>());
    var abandoned = Collections.synchronizedSet(new TreeSet<String>());

    var node =
        new ProcessBuilder(
                "node",
                Path.of("src/test/node/soak-client.mjs").toString(),
                running.base,
                KEY,
                String.valueOf(NODE_LOOPS),
                String.valueOf(REQUESTS_PER_CLIENT),
                "node")
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    var nodeOutput =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return new String(node.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
              } catch (IOException e) {
                throw new IllegalStateException(e);
              }
            });
    try (var threads = Executors.newFixedThreadPool(JAVA_CLIENTS);
        var client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()) {
      var clients = new ArrayList<CompletableFuture<Void>>();
      for (int n = 0; n < JAVA_CLIENTS; n++) {
        int clientNo = n;
        clients.add(
            CompletableFuture.runAsync(
                () -> javaClient(client, clientNo, outcomes, goods, abandoned), threads));
      }
      CompletableFuture.allOf(clients.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
    }
    assertTrue(node.waitFor(120, TimeUnit.SECONDS), "the Node client finished");
    assertEquals(0, node.exitValue(), "the Node client's exit status");
    JsonNode fromNode = JobJson.MAPPER.readTree(nodeOutput.get(10, TimeUnit.SECONDS));
    fromNode
        .get("results")
        .forEach(
            r ->
                outcomes.add(
                    new Outcome(
                        r.get("client").asText(),
                        r.get("kind").asText(),
                        r.get("expected").asInt(),
                        r.get("status").isInt()
                            ? r.get("status").asInt()
                            : r.get("status").asText())));
    fromNode.get("goods").forEach(m -> goods.add(m.asText()));
    fromNode.get("abandoned").forEach(m -> abandoned.add(m.asText()));

    var wrong = outcomes.stream().filter(o -> !o.expected().equals(o.status())).toList();
    assertTrue(
        wrong.isEmpty(),
        wrong.size() + " of " + outcomes.size() + " requests went wrong: " + wrong);
    assertTrue(
        outcomes.size() >= (JAVA_CLIENTS + NODE_LOOPS) * REQUESTS_PER_CLIENT * 3 / 4,
        "requests made: " + outcomes.size());

    Map<String, Integer> stored = storedMarkers();
    var missing = new TreeSet<>(goods);
    missing.removeAll(stored.keySet());
    assertTrue(missing.isEmpty(), "answered 202 but not stored: " + missing);
    var twice = stored.entrySet().stream().filter(e -> e.getValue() != 1).toList();
    assertTrue(twice.isEmpty(), "stored more than once: " + twice);
    var unwanted = new TreeSet<>(stored.keySet());
    unwanted.retainAll(abandoned);
    assertTrue(unwanted.isEmpty(), "abandoned mid-body but stored: " + unwanted);
    assertEquals(
        goods.size(), stored.size(), "stored jobs that no client sent as good: " + stored.keySet());

    var http = new HttpJson(running.base, KEY);
    assertEquals(200, http.get("/health/ready").status());
    assertEquals(202, http.post("/v1/jobs", "{\"type\":\"echo\",\"request\":{}}").status());
  }

  private static void javaClient(
      HttpClient client, int n, List<Outcome> outcomes, Set<String> goods, Set<String> abandoned) {
    String name = "jdk-" + n;
    String oversized = "{\"type\":\"echo\",\"request\":{\"s\":\"" + "x".repeat(2 << 20) + "\"}}";
    for (int i = 0; i < REQUESTS_PER_CLIENT; i++) {
      String marker = "jdk-" + n + "-" + i;
      String good = "{\"type\":\"echo\",\"request\":{\"marker\":\"" + marker + "\"}}";
      switch (i % 8) {
        case 0 -> outcomes.add(send(client, name, "oversized", 413, "application/json", oversized));
        case 1 ->
            outcomes.add(send(client, name, "malformed", 400, "application/json", "{type: echo"));
        case 2 -> outcomes.add(send(client, name, "wrong content type", 415, "text/plain", good));
        case 3 ->
            outcomes.add(
                send(
                    client,
                    name,
                    "invalid fields",
                    422,
                    "application/json",
                    "{\"type\":\"echo\",\"request\":{},\"idempotency_key\":{}}"));
        case 4 -> {
          abandoned.add(marker);
          goneMidBody(RawHttp.post("/v1/jobs", good, Map.of("Authorization", "Bearer " + KEY)));
        }
        case 5 -> {
          goods.add(marker);
          outcomes.add(
              slowSender(
                  name, RawHttp.post("/v1/jobs", good, Map.of("Authorization", "Bearer " + KEY))));
        }
        default -> {
          goods.add(marker);
          outcomes.add(send(client, name, "good", 202, "application/json", good));
        }
      }
    }
  }

  private static Outcome send(
      HttpClient client, String name, String kind, int expected, String type, String body) {
    var request =
        HttpRequest.newBuilder(URI.create(running.base + "/v1/jobs"))
            .timeout(Duration.ofSeconds(15))
            .header("Authorization", "Bearer " + KEY)
            .header("Content-Type", type)
            .POST(BodyPublishers.ofString(body))
            .build();
    try {
      var answer = client.send(request, BodyHandlers.ofString());
      boolean problem =
          answer.statusCode() < 400
              || answer
                  .headers()
                  .firstValue("Content-Type")
                  .orElse("")
                  .startsWith(Problem.CONTENT_TYPE);
      return new Outcome(
          name,
          kind,
          expected,
          problem ? answer.statusCode() : answer.statusCode() + " without a problem body");
    } catch (IOException | InterruptedException e) {
      return new Outcome(name, kind, expected, "error: " + e);
    }
  }

  private static void goneMidBody(String request) {
    try (var socket = new RawHttp(running.config.gateway().port(), 2_000)) {
      socket.write(request.substring(0, request.length() - 5));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Outcome slowSender(String name, String request) {
    try (var socket = new RawHttp(running.config.gateway().port(), 15_000)) {
      for (int at = 0; at < request.length(); at += 40) {
        socket.write(request.substring(at, Math.min(request.length(), at + 40)));
        Thread.sleep(15);
      }
      return new Outcome(name + "-socket", "slow sender", 202, socket.read().status());
    } catch (IOException | InterruptedException e) {
      return new Outcome(name + "-socket", "slow sender", 202, "error: " + e);
    }
  }

  private static Map<String, Integer> storedMarkers() {
    var stored = new HashMap<String, Integer>();
    running
        .gateway
        .pg()
        .query(
            "SELECT request->>'marker' AS marker, count(*)::int AS n FROM "
                + running.config.pg().schema()
                + ".jobs WHERE request ? 'marker' GROUP BY 1")
        .execute()
        .await()
        .forEach(row -> stored.put(row.getString("marker"), row.getInteger("n")));
    return stored;
  }
}
