package io.spool.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.model.JobJson;
import io.spool.signal.RedisClients;
import io.spool.store.PgClients;
import io.spool.testing.Eventually;
import io.spool.testing.HttpJson;
import io.spool.testing.JobFixtures;
import io.vertx.core.Vertx;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The built-in {@code http} job type: the request once per job, retries under one key, SSRF rules,
 * limits.
 */
class HttpJobTest {
  private static final int MAX_RESPONSE_BYTES = 1000;
  static InProcessSpool spool;
  static HttpJson http;
  static Receiver receiver;

  @BeforeAll
  static void start() throws Exception {
    receiver = new Receiver();
    spool =
        InProcessSpool.start(
            HttpJobTest.class,
            Map.of(
                "SPOOL_RETRY_BASE_MILLIS", "50",
                "SPOOL_HTTP_ALLOWED_HOSTS", "127.0.0.1",
                // Far below the slow answer's delay, far above any normal answer on a loaded CI
                // machine.
                "SPOOL_HTTP_TIMEOUT_SECS", "3",
                "SPOOL_HTTP_MAX_RESPONSE_BYTES", String.valueOf(MAX_RESPONSE_BYTES)));
    http = spool.http;
  }

  @AfterAll
  static void stop() {
    spool.close();
    receiver.close();
  }

  private static JsonNode awaitEnd(String id) {
    return spool.awaitEnd(id);
  }

  @Test
  void requestIsMadeWithTheJobsKeyAndTheAnswerIsTheResult() {
    receiver.script(
        "/orders",
        new Receiver.Answer(201, Map.of("Content-Type", "application/json"), "{\"order\":7}"));
    String id =
        http.submit(
            "{\"type\":\"http\",\"request\":{\"method\":\"post\",\"url\":\""
                + receiver.url("/orders")
                + "\",\"headers\":{\"X-Trace\":\"abc\"},\"body\":{\"item\":\"tea\"}}}");
    JsonNode job = awaitEnd(id);
    assertEquals("completed", job.get("status").asText(), job.toString());
    assertEquals(1, job.get("attempts").asInt(), job.toString());
    assertEquals(201, job.get("result").get("status").asInt());
    assertEquals(7, job.get("result").get("body").get("order").asInt());
    var request = receiver.to("/orders").get(0);
    assertEquals("POST", request.method());
    assertEquals(id + ":http", request.header("Idempotency-Key"));
    assertEquals("abc", request.header("X-Trace"));
    assertEquals("application/json", request.header("Content-Type"));
    assertEquals(JobJson.tree("{\"item\":\"tea\"}"), JobJson.tree(request.body()));
  }

  @Test
  void textBodyIsSentAsGivenAndATextAnswerKeptAsText() {
    receiver.script(
        "/text", new Receiver.Answer(200, Map.of("Content-Type", "text/plain"), "pong"));
    String id =
        http.submit(
            "{\"type\":\"http\",\"request\":{\"method\":\"PUT\",\"url\":\""
                + receiver.url("/text")
                + "\",\"headers\":{\"Content-Type\":\"text/plain\"},\"body\":\"ping\"}}");
    JsonNode job = awaitEnd(id);
    assertEquals("pong", job.get("result").get("body").asText(), job.toString());
    assertEquals("ping", receiver.to("/text").get(0).body());
    assertEquals("text/plain", receiver.to("/text").get(0).header("Content-Type"));
  }

  @Test
  void answerAskingToTryAgainLaterIsRetriedUnderTheSameKey() {
    receiver.script("/busy", 503, 429);
    String id =
        http.submit(
            "{\"type\":\"http\",\"max_attempts\":5,\"request\":{\"url\":\""
                + receiver.url("/busy")
                + "\"}}");
    JsonNode job = awaitEnd(id);
    assertEquals("completed", job.get("status").asText(), job.toString());
    assertEquals(3, job.get("attempts").asInt());
    assertEquals(200, job.get("result").get("status").asInt());
    assertEquals(
        List.of(503, 429, 200),
        receiver.to("/busy").stream().map(Receiver.Request::answered).toList());
    assertEquals(
        Set.of(id + ":http"),
        Set.copyOf(receiver.to("/busy").stream().map(r -> r.header("Idempotency-Key")).toList()));
  }

  @Test
  void redirectIsTheAnswerAndIsNotFollowed() {
    receiver.script(
        "/moved",
        new Receiver.Answer(
            302, Map.of("Location", "http://169.254.169.254/latest/meta-data"), null));
    String id =
        http.submit("{\"type\":\"http\",\"request\":{\"url\":\"" + receiver.url("/moved") + "\"}}");
    JsonNode job = awaitEnd(id);
    assertEquals(302, job.get("result").get("status").asInt(), job.toString());
    assertEquals(1, receiver.to("/moved").size());
  }

  @Test
  void longAnswerIsCutAtTheLimit() {
    receiver.script(
        "/big",
        new Receiver.Answer(
            200, Map.of("Content-Type", "application/json"), "\"" + "x".repeat(5000) + "\""));
    String id =
        http.submit("{\"type\":\"http\",\"request\":{\"url\":\"" + receiver.url("/big") + "\"}}");
    JsonNode result = awaitEnd(id).get("result");
    assertTrue(result.get("truncated").asBoolean(), result.toString());
    assertEquals(
        MAX_RESPONSE_BYTES, result.get("body").asText().length(), "cut JSON is kept as text");
  }

  @Test
  void serverSlowerThanTheTimeoutFailsTheAttempt() {
    receiver.script("/slow", new Receiver.Answer(200, Map.of(), "late", 15_000));
    String id =
        http.submit(
            "{\"type\":\"http\",\"max_attempts\":1,\"request\":{\"url\":\""
                + receiver.url("/slow")
                + "\"}}");
    JsonNode job = awaitEnd(id);
    assertEquals("failed", job.get("status").asText(), job.toString());
    assertTrue(job.get("error").asText().contains("within 3 s"), job.get("error").asText());
  }

  @Test
  void cancellingDuringTheWorkAfterTheRequestCancels() {
    String id =
        http.submit(
            "{\"type\":\"http\",\"request\":{\"url\":\""
                + receiver.url("/then-wait")
                + "\",\"after_ms\":60000}}");
    Eventually.await(
        "the request was made", Duration.ofSeconds(20), () -> !receiver.to("/then-wait").isEmpty());
    assertEquals(202, http.post("/v1/jobs/" + id + "/cancel", "").status());
    assertEquals("cancelled", awaitEnd(id).get("status").asText());
  }

  @Test
  void destinationsTheRulesForbidAreRefusedAtSubmissionWithNothingStored() throws Exception {
    String ownName = InetAddress.getLocalHost().getHostName();
    int before = http.get("/v1/jobs?limit=500").json().get("jobs").size();
    for (String url :
        List.of(
            "http://localhost:9/x",
            "http://10.0.0.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::ffff:127.0.0.1]/",
            "http://[::1]/",
            "file:///etc/passwd",
            "http://" + ownName + ":9/x")) {
      var response =
          http.post("/v1/jobs", "{\"type\":\"http\",\"request\":{\"url\":\"" + url + "\"}}");
      assertEquals(422, response.status(), url + " -> " + response.raw().body());
      assertEquals("application/problem+json", response.header("Content-Type"));
      assertTrue(response.raw().body().contains("\"request.url\""), response.raw().body());
    }
    var batch =
        http.post(
            "/v1/jobs/batch",
            "{\"jobs\":[{\"type\":\"echo\"},{\"type\":\"http\",\"request\":{\"url\":\"http://"
                + ownName
                + "/\"}}]}");
    assertEquals(422, batch.status(), batch.raw().body());
    assertTrue(batch.raw().body().contains("jobs[1].request.url"), batch.raw().body());
    assertEquals(
        before, http.get("/v1/jobs?limit=500").json().get("jobs").size(), "nothing was stored");
  }

  @Test
  void malformedRequestsAreRefusedNamingTheField() {
    String url = receiver.url("/never");
    Map<String, String> cases =
        Map.of(
            "{\"method\":\"FETCH\",\"url\":\"" + url + "\"}",
            "request.method",
            "{\"url\":\"" + url + "\",\"headers\":{\"Host\":\"evil\"}}",
            "request.headers.Host",
            "{\"url\":\"" + url + "\",\"headers\":{\"X-A\":1}}",
            "request.headers.X-A",
            "{\"url\":\"" + url + "\",\"uri\":\"typo\"}",
            "request.uri",
            "{\"url\":\"" + url + "\",\"body\":\"on a GET\"}",
            "request.body",
            "{\"url\":\"" + url + "\",\"after_ms\":-1}",
            "request.after_ms",
            "{}",
            "request.url");
    cases.forEach(
        (request, field) -> {
          var response = http.post("/v1/jobs", "{\"type\":\"http\",\"request\":" + request + "}");
          assertEquals(422, response.status(), request + " -> " + response.raw().body());
          assertTrue(
              response.raw().body().contains("\"" + field + "\""),
              request + " -> " + response.raw().body());
        });
    var waitPastTimeout =
        http.post(
            "/v1/jobs",
            "{\"type\":\"http\",\"timeout_secs\":5,\"request\":{\"url\":\""
                + url
                + "\",\"after_ms\":5000}}");
    assertEquals(422, waitPastTimeout.status(), waitPastTimeout.raw().body());
    assertTrue(
        waitPastTimeout.raw().body().contains("\"request.after_ms\""),
        waitPastTimeout.raw().body());
    assertTrue(receiver.to("/never").isEmpty());
  }

  @Test
  void workerChecksTheDestinationAgainBeforeTheRequest() {
    // Stored without passing the gateway (as if its DNS answer changed since): the worker refuses
    // it.
    Vertx vertx = Vertx.vertx();
    try {
      String id =
          JobFixtures.aJob("http")
              .withRequest("{\"url\":\"http://10.255.255.1:9/\"}")
              .withMaxAttempts(1)
              .submit(
                  PgClients.client(vertx, spool.config),
                  RedisClients.client(vertx, spool.config, 1),
                  spool.config.keys())
              .toString();
      JsonNode job = awaitEnd(id);
      assertEquals("failed", job.get("status").asText(), job.toString());
      assertTrue(job.get("error").asText().contains("private address"), job.get("error").asText());
    } finally {
      vertx.close();
    }
  }
}
