package io.spool.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.config.SpoolConfig;
import io.spool.model.JobJson;
import io.spool.net.DestinationRules;
import io.spool.net.WebhookSignature;
import io.spool.store.PgClients;
import io.spool.testing.Eventually;
import io.spool.testing.HttpJson;
import io.spool.testing.JobFixtures;
import io.vertx.core.Vertx;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Signed webhooks through the durable outbox: retries, failure on the job, SSRF rules. */
class WebhookTest {
  private static final String SECRET = "test-webhook-secret-0123456789";
  private static final int MAX_ATTEMPTS = 3;
  static InProcessSpool spool;
  static SpoolConfig config;
  static HttpJson http;
  static Receiver receiver;

  @BeforeAll
  static void start() throws Exception {
    receiver = new Receiver();
    spool =
        InProcessSpool.start(
            WebhookTest.class,
            Map.of(
                "SPOOL_WEBHOOK_SECRET", SECRET,
                "SPOOL_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1",
                "SPOOL_WEBHOOK_MAX_ATTEMPTS", String.valueOf(MAX_ATTEMPTS),
                "SPOOL_WEBHOOK_RETRY_BASE_MILLIS", "200",
                "SPOOL_WEBHOOK_TIMEOUT_SECS", "2"));
    config = spool.config;
    http = spool.http;
  }

  @AfterAll
  static void stop() {
    spool.close();
    receiver.close();
  }

  private static String submit(String json) {
    return http.submit(json);
  }

  private static JsonNode awaitWebhookState(String id, String state) {
    var job = new JsonNode[1];
    Eventually.await(
        "job " + id + "'s webhook is " + state,
        Duration.ofSeconds(20),
        () -> {
          job[0] = http.get("/v1/jobs/" + id).json();
          return job[0].path("webhook").path("state").asText().equals(state);
        });
    return job[0];
  }

  @Test
  void receiverFailingTwiceGetsThreeSignedDeliveriesAndTheJobShowsDelivered() throws Exception {
    receiver.script("/flaky", 500, 503);
    String id =
        submit(
            "{\"type\":\"echo\",\"request\":{\"say\":\"hi\"},\"callback_url\":\""
                + receiver.url("/flaky")
                + "\"}");

    JsonNode job = awaitWebhookState(id, "delivered");
    assertEquals("completed", job.get("status").asText());
    assertEquals(3, job.get("webhook").get("attempts").asInt());
    assertEquals(200, job.get("webhook").get("last_status").asInt());

    var deliveries = receiver.to("/flaky");
    assertEquals(3, deliveries.size(), "one POST per attempt, none after the 2xx");
    assertEquals(
        List.of(500, 503, 200), deliveries.stream().map(Receiver.Request::answered).toList());
    for (int i = 0; i < deliveries.size(); i++) {
      var delivery = deliveries.get(i);
      assertEquals(String.valueOf(i + 1), delivery.header("Spool-Attempt"));
      assertEquals(
          deliveries.get(0).header("Spool-Delivery"),
          delivery.header("Spool-Delivery"),
          "one delivery id to deduplicate on");
      assertEquals("application/json", delivery.header("Content-Type"));
      assertSignedBySecret(delivery);
      JsonNode body = JobJson.tree(delivery.body());
      assertEquals(id, body.get("job_id").asText());
      assertEquals("completed", body.get("status").asText());
      assertEquals("hi", body.get("result").get("say").asText());
      assertTrue(body.get("error").isNull());
    }
  }

  /** Checks the header the way a receiver in any language would: HMAC-SHA256 over "t.body", hex. */
  private static void assertSignedBySecret(Receiver.Request delivery) throws Exception {
    String header = delivery.header(WebhookSignature.HEADER);
    var parts = header.split(",");
    assertTrue(parts[0].startsWith("t=") && parts[1].startsWith("v1="), header);
    long t = Long.parseLong(parts[0].substring(2));
    assertTrue(Math.abs(Instant.now().getEpochSecond() - t) < 60, "a fresh timestamp");
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    String expected =
        HexFormat.of()
            .formatHex(mac.doFinal((t + "." + delivery.body()).getBytes(StandardCharsets.UTF_8)));
    assertEquals(expected, parts[1].substring(3));
    assertTrue(
        WebhookSignature.verify(
            SECRET, header, delivery.body(), WebhookSignature.DEFAULT_TOLERANCE, Instant.now()));
  }

  @Test
  void deliveryThatNeverSucceedsIsRecordedAsFailedOnTheJobWhichKeepsItsOwnOutcome() {
    receiver.script("/down", 503, 503, 503, 503, 503);
    String id =
        submit(
            "{\"type\":\"fail\",\"max_attempts\":1,\"callback_url\":\""
                + receiver.url("/down")
                + "\"}");

    JsonNode job = awaitWebhookState(id, "failed");
    assertEquals("failed", job.get("status").asText(), "the job's own outcome is untouched");
    assertEquals(MAX_ATTEMPTS, job.get("webhook").get("attempts").asInt());
    assertEquals(503, job.get("webhook").get("last_status").asInt());
    assertTrue(job.get("webhook").get("last_error").asText().contains("HTTP 503"), job.toString());
    assertEquals(MAX_ATTEMPTS, receiver.to("/down").size());
    JsonNode body = JobJson.tree(receiver.to("/down").get(0).body());
    assertEquals("failed", body.get("status").asText());
    assertTrue(body.get("error").asText().length() > 0);
  }

  @Test
  void cancellingAPendingJobAlsoCallsBack() {
    var response =
        http.post(
            "/v1/jobs",
            "{\"type\":\"echo\",\"delay_secs\":3600,\"callback_url\":\""
                + receiver.url("/cancelled")
                + "\"}");
    String id = response.json().get("id").asText();
    assertEquals(200, http.post("/v1/jobs/" + id + "/cancel", "").status());
    awaitWebhookState(id, "delivered");
    assertEquals(
        "cancelled", JobJson.tree(receiver.to("/cancelled").get(0).body()).get("status").asText());
  }

  @Test
  void destinationsTheRulesForbidAreRefusedAtSubmissionWithNothingStored() throws Exception {
    // The machine's own name resolves to a loopback or private address: refused by its DNS answer.
    String ownName = InetAddress.getLocalHost().getHostName();
    assertTrue(
        DestinationRules.forbiddenKind(InetAddress.getByName(ownName)) != null,
        "this test needs the machine's host name ("
            + ownName
            + ") to resolve to a non-public address");
    for (String url :
        List.of(
            "ftp://example.com/x",
            "http://localhost:9/x",
            "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.1/",
            "http://[::1]/",
            "http://user:pw@127.0.0.1/",
            "http://" + ownName + ":9/x")) {
      var response = http.post("/v1/jobs", "{\"type\":\"echo\",\"callback_url\":\"" + url + "\"}");
      assertEquals(422, response.status(), url + " -> " + response.raw().body());
      assertEquals("application/problem+json", response.header("Content-Type"));
      assertTrue(response.raw().body().contains("callback_url"), response.raw().body());
    }
    var batch =
        http.post(
            "/v1/jobs/batch",
            "{\"jobs\":[{\"type\":\"echo\"},{\"type\":\"echo\",\"callback_url\":\"http://"
                + ownName
                + "/\"}]}");
    assertEquals(422, batch.status(), batch.raw().body());
    assertTrue(batch.raw().body().contains("jobs[1].callback_url"), batch.raw().body());
    assertEquals(
        0,
        http.get("/v1/jobs?limit=500").json().get("jobs").findValuesAsText("callback_url").stream()
            .filter(u -> !u.startsWith(receiver.url("")))
            .count(),
        "no refused job was stored");
  }

  @Test
  void workersCheckTheDestinationAgainBeforeDelivering() {
    // Stored without passing the gateway (as if its DNS answer changed since): the worker refuses
    // it.
    Vertx vertx = Vertx.vertx();
    try {
      var pg = PgClients.client(vertx, config);
      String id =
          JobFixtures.aJob("echo")
              .withCallbackUrl("http://10.255.255.1:9/hook")
              .submit(pg, io.spool.signal.RedisClients.client(vertx, config, 1), config.keys())
              .toString();
      JsonNode job = awaitWebhookState(id, "failed");
      assertEquals(
          1, job.get("webhook").get("attempts").asInt(), "a refused destination is not retried");
      assertTrue(
          job.get("webhook").get("last_error").asText().contains("private address"),
          job.toString());
    } finally {
      vertx.close();
    }
  }
}
