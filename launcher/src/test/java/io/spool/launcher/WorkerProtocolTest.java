package io.spool.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.testing.Eventually;
import io.spool.testing.HttpJson;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The worker protocol spoken by hand over HTTP against a real gateway and Java worker: keys that
 * cannot cross, the fence on every attempt write, claims by type, leases of silent remote workers,
 * cancel, drain and leave. Workers in real Python and Node processes: {@link SdkWorkersTest}.
 */
class WorkerProtocolTest {
  private static final String USER_KEY = "proto-user-0123456789abcdef";
  private static final String WORKER_KEY = "proto-worker-0123456789abcdef";
  static InProcessSpool spool;
  static HttpJson user;
  static HttpJson worker;
  static HttpJson anonymous;

  @BeforeAll
  static void start() {
    spool =
        InProcessSpool.start(
            WorkerProtocolTest.class,
            Map.of(
                "SPOOL_AUTH",
                "keys",
                "SPOOL_API_KEYS",
                USER_KEY + "=alice",
                "SPOOL_WORKER_KEYS",
                WORKER_KEY + "=agents",
                "SPOOL_VISIBILITY_TIMEOUT_SECS",
                "3",
                "SPOOL_RETRY_BASE_MILLIS",
                "10"));
    String base = "http://127.0.0.1:" + spool.config.gateway().port();
    user = new HttpJson(base, USER_KEY);
    worker = new HttpJson(base, WORKER_KEY);
    anonymous = new HttpJson(base);
  }

  @AfterAll
  static void stop() {
    spool.close();
  }

  /** A job type no other test uses, so each test sees only its own jobs. */
  private static String newType() {
    return "t" + UUID.randomUUID().toString().substring(0, 8);
  }

  private static String register(String type) {
    var answer =
        worker.post(
            "/v1/workers", "{\"types\":[\"" + type + "\"],\"concurrency\":4,\"name\":\"t\"}");
    assertEquals(201, answer.status(), answer.raw().body());
    assertEquals(25, answer.json().get("max_wait_secs").asInt());
    return answer.json().get("worker_id").asText();
  }

  private static List<JsonNode> claim(String wid, int max, int waitSecs) {
    var answer =
        worker.post(
            "/v1/workers/" + wid + "/claim",
            "{\"max\":" + max + ",\"wait_secs\":" + waitSecs + "}");
    assertEquals(200, answer.status(), answer.raw().body());
    var jobs = new java.util.ArrayList<JsonNode>();
    answer.json().get("jobs").forEach(jobs::add);
    return jobs;
  }

  private static JsonNode claimOne(String wid) {
    List<JsonNode> jobs = claim(wid, 1, 10);
    assertEquals(1, jobs.size(), "one job claimed");
    return jobs.getFirst();
  }

  private static String attemptPath(JsonNode job) {
    return "/v1/jobs/" + job.get("id").asText() + "/attempts/" + job.get("attempt").asInt();
  }

  private static void beat(String wid) {
    assertEquals(200, worker.post("/v1/workers/" + wid + "/heartbeat", "{}").status());
  }

  @Test
  void workerAndUserKeysCannotCross() {
    String type = newType();
    String wid = register(type);
    var asWorker = worker.post("/v1/jobs", "{\"type\":\"echo\"}");
    assertEquals(401, asWorker.status(), "a worker key cannot submit");
    assertEquals("urn:spool:problem:unauthorized", asWorker.json().get("type").asText());
    assertEquals(401, worker.get("/v1/jobs").status(), "nor read as a user");
    assertEquals(401, worker.get("/v1/queues").status());
    var asUser = user.post("/v1/workers/" + wid + "/claim", "{\"wait_secs\":0}");
    assertEquals(401, asUser.status(), "a user key cannot claim");
    assertTrue(asUser.json().get("detail").asText().contains("worker key"), asUser.raw().body());
    assertEquals(401, user.post("/v1/workers", "{\"types\":[\"x\"]}").status());
    String id = user.submit("{\"type\":\"" + type + "\"}");
    assertEquals(
        401,
        user.post("/v1/jobs/" + id + "/attempts/1/complete", "{\"result\":1}").status(),
        "nor write about an attempt");
    assertEquals(401, anonymous.post("/v1/workers", "{\"types\":[\"x\"]}").status(), "no key");
  }

  @Test
  void aTypeNoLiveWorkerServesWaitsVisiblyAndStartsWhenAWorkerComes() {
    String type = newType();
    // Known (a worker registered it once) but served by no live worker: its old worker left.
    String first = register(type);
    assertEquals(204, worker.delete("/v1/workers/" + first).status());
    String id = user.submit("{\"type\":\"" + type + "\",\"request\":{\"n\":1}}");

    Eventually.await(
        "the job waits, shown per type with no worker serving it",
        Duration.ofSeconds(10),
        () -> {
          JsonNode figures = typeFigures(type);
          return figures != null
              && figures.get("pending").asInt() == 1
              && figures.get("workers").asInt() == 0;
        });
    assertEquals(
        "pending",
        user.get("/v1/jobs/" + id).json().get("status").asText(),
        "the Java worker beside it serves other types and never takes it");

    // Its signal was neither consumed nor lost: a new worker gets the job at once.
    String wid = register(type);
    long before = System.nanoTime();
    JsonNode job = claimOne(wid);
    assertTrue(System.nanoTime() - before < 5_000_000_000L, "claimed from its signal");
    assertEquals(id, job.get("id").asText());
    assertEquals(1, job.get("request").get("n").asInt());
    assertEquals("alice", job.get("user_id").asText());
    var done = worker.post(attemptPath(job) + "/complete", "{\"result\":{\"ok\":true}}");
    assertEquals(200, done.status(), done.raw().body());
    assertTrue(spool.awaitEnd(id, user).get("result").get("ok").asBoolean());
  }

  private static JsonNode typeFigures(String type) {
    for (JsonNode queue : user.get("/v1/queues").json().get("queues")) {
      if (queue.get("queue").asText().equals("default") && queue.get("types").has(type)) {
        return queue.get("types").get(type);
      }
    }
    return null;
  }

  @Test
  void aStaleWorkersWritesGet409AndTheJobsResultIsTheNewAttempts() {
    String type = newType();
    String stale = register(type);
    String id = user.submit("{\"type\":\"" + type + "\",\"max_attempts\":3}");
    JsonNode first = claimOne(stale);
    // The stale worker goes silent; a live one keeps beating and gets the job after the reaper.
    String live = register(type);
    JsonNode second = null;
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (second == null && System.nanoTime() < deadline) {
      beat(live);
      List<JsonNode> jobs = claim(live, 1, 1);
      second = jobs.isEmpty() ? null : jobs.getFirst();
    }
    assertTrue(second != null, "the job went to the live worker after the visibility timeout");
    assertEquals(2, second.get("attempt").asInt());

    for (var write :
        List.of(
            worker.post(attemptPath(first) + "/complete", "{\"result\":\"stale\"}"),
            worker.post(attemptPath(first) + "/fail", "{\"error\":\"stale\"}"),
            worker.put(attemptPath(first) + "/checkpoint", "{\"state\":1}"),
            worker.put(attemptPath(first) + "/effects/charge", "{\"result\":1}"),
            worker.post(
                attemptPath(first) + "/events",
                "{\"events\":[{\"type\":\"output\",\"data\":\"x\"}]}"))) {
      assertEquals(409, write.status(), write.raw().body());
      assertEquals("urn:spool:problem:attempt-lost", write.json().get("type").asText());
    }
    assertEquals(410, worker.post("/v1/workers/" + stale + "/heartbeat", "{}").status());
    assertEquals(410, worker.post("/v1/workers/" + stale + "/claim", "{}").status());

    var batch =
        worker.post(
            "/v1/workers/" + live + "/complete",
            "{\"jobs\":[{\"id\":\""
                + id
                + "\",\"attempt\":1,\"result\":\"stale\"},{\"id\":\""
                + id
                + "\",\"attempt\":2,\"result\":\"fresh\"}]}");
    assertEquals(200, batch.status(), batch.raw().body());
    assertEquals("attempt-lost", batch.json().get("jobs").get(0).get("status").asText());
    assertEquals("completed", batch.json().get("jobs").get(1).get("status").asText());
    JsonNode job = spool.awaitEnd(id, user);
    assertEquals("fresh", job.get("result").asText());
    assertEquals(2, job.get("attempts").asInt());

    var again = worker.post(attemptPath(second) + "/complete", "{\"result\":\"fresh\"}");
    assertEquals(200, again.status(), "the same complete again is a replay");
    assertTrue(again.json().get("replay").asBoolean());
  }

  @Test
  void sideEffectsAreRecordedOnceAndComeBackToTheNextAttemptWithTheCheckpoint() {
    String type = newType();
    String wid = register(type);
    String id = user.submit("{\"type\":\"" + type + "\",\"max_attempts\":3}");
    JsonNode first = claimOne(wid);
    String effect = attemptPath(first) + "/effects/charge";
    assertEquals(404, worker.get(effect).status());
    var recorded = worker.put(effect, "{\"result\":{\"charge_id\":\"ch_1\"}}");
    assertEquals(201, recorded.status(), recorded.raw().body());
    var second = worker.put(effect, "{\"result\":{\"charge_id\":\"ch_2\"}}");
    assertEquals(200, second.status());
    assertFalse(second.json().get("recorded").asBoolean());
    assertEquals("ch_1", second.json().get("result").get("charge_id").asText(), "the first wins");
    assertEquals(
        200, worker.put(attemptPath(first) + "/checkpoint", "{\"state\":{\"step\":2}}").status());
    var failed = worker.post(attemptPath(first) + "/fail", "{\"error\":\"boom\",\"retry\":true}");
    assertEquals("pending", failed.json().get("status").asText(), failed.raw().body());

    JsonNode retry = claimOne(wid);
    assertEquals(2, retry.get("attempt").asInt());
    assertEquals(2, retry.get("checkpoint").get("step").asInt());
    assertEquals("ch_1", retry.get("effects").get("charge").get("charge_id").asText());
    worker.post(attemptPath(retry) + "/complete", "{}");
    assertEquals("completed", spool.awaitEnd(id, user).get("status").asText());
  }

  @Test
  void aFailureWithRetryFalseDeadLettersAtOnce() {
    String type = newType();
    String wid = register(type);
    String id = user.submit("{\"type\":\"" + type + "\",\"max_attempts\":5}");
    JsonNode job = claimOne(wid);
    var failed =
        worker.post(attemptPath(job) + "/fail", "{\"error\":\"bad input\",\"retry\":false}");
    assertEquals(200, failed.status(), failed.raw().body());
    assertEquals("failed", failed.json().get("status").asText());
    JsonNode ended = spool.awaitEnd(id, user);
    assertEquals(1, ended.get("attempts").asInt());
    assertEquals("bad input", ended.get("error").asText());
    boolean inDlq = false;
    for (JsonNode dead : user.get("/v1/dlq").json().get("jobs")) {
      inDlq |= dead.get("id").asText().equals(id);
    }
    assertTrue(inDlq, "dead-lettered");
  }

  @Test
  void aCancelReachesTheWorkerAtItsNextWriteAndHeartbeat() {
    String type = newType();
    String wid = register(type);
    String id = user.submit("{\"type\":\"" + type + "\"}");
    JsonNode job = claimOne(wid);
    assertEquals(202, user.post("/v1/jobs/" + id + "/cancel", "").status());
    var write =
        worker.post(
            attemptPath(job) + "/events", "{\"events\":[{\"type\":\"progress\",\"data\":1}]}");
    assertTrue(write.json().get("cancel_requested").asBoolean(), write.raw().body());
    var beat =
        worker.post(
            "/v1/workers/" + wid + "/heartbeat",
            "{\"running\":[{\"job_id\":\"" + id + "\",\"attempt\":1}]}");
    assertEquals(List.of(id), texts(beat.json().get("cancel")));
    var cancelled =
        worker.post(attemptPath(job) + "/fail", "{\"error\":\"cancelled\",\"retry\":false}");
    assertEquals("cancelled", cancelled.json().get("status").asText());
    assertEquals("cancelled", spool.awaitEnd(id, user).get("status").asText());
  }

  @Test
  void aDrainedWorkerClaimsNothingAndItsLeaveHandsItsJobsBack() {
    String type = newType();
    String wid = register(type);
    String held = user.submit("{\"type\":\"" + type + "\"}");
    claimOne(wid);
    user.submit("{\"type\":\"" + type + "\"}");
    assertEquals(202, worker.post("/v1/workers/" + wid + "/drain", "").status());
    assertEquals(
        "drain",
        worker.post("/v1/workers/" + wid + "/heartbeat", "{}").json().get("state").asText());
    assertEquals(List.of(), claim(wid, 5, 5), "a draining worker gets nothing");
    assertEquals(204, worker.delete("/v1/workers/" + wid).status());
    assertEquals("pending", user.get("/v1/jobs/" + held).json().get("status").asText());
    String next = register(type);
    assertEquals(2, claim(next, 5, 5).size(), "both jobs, the handed-back one again");
  }

  @Test
  void badInputGetsAProblemAndChangesNothing() {
    String type = newType();
    String wid = register(type);
    for (String[] bad :
        new String[][] {
          {"/v1/workers", "{}"},
          {"/v1/workers", "{\"types\":[]}"},
          {"/v1/workers", "{\"types\":[\"no spaces\"]}"},
          {"/v1/workers", "{\"types\":[\"a\"],\"concurrency\":0}"},
          {"/v1/workers/" + wid + "/claim", "{\"max\":0}"},
          {"/v1/workers/" + wid + "/claim", "{\"wait_secs\":26}"},
          {"/v1/workers/" + wid + "/claim", "[1]"},
          {"/v1/workers/" + wid + "/heartbeat", "{\"running\":[{\"job_id\":\"x\",\"attempt\":1}]}"},
          {"/v1/workers/" + wid + "/complete", "{\"jobs\":[]}"},
          {"/v1/jobs/not-a-uuid/attempts/1/complete", "{}"},
          {"/v1/jobs/" + UUID.randomUUID() + "/attempts/zero/complete", "{}"},
          {"/v1/jobs/" + UUID.randomUUID() + "/attempts/1/fail", "{\"error\":\"\"}"},
          {
            "/v1/jobs/" + UUID.randomUUID() + "/attempts/1/events",
            "{\"events\":[{\"type\":\"status\"}]}"
          },
        }) {
      var answer = worker.post(bad[0], bad[1]);
      assertTrue(
          answer.status() == 400 || answer.status() == 422,
          bad[0] + " " + bad[1] + " -> " + answer.status() + " " + answer.raw().body());
      assertEquals("application/problem+json", answer.header("Content-Type"));
    }
    var notJson = worker.post("/v1/workers/" + wid + "/claim", "{");
    assertEquals(400, notJson.status());
    var unknownAttempt =
        worker.post("/v1/jobs/" + UUID.randomUUID() + "/attempts/1/complete", "{}");
    assertEquals(409, unknownAttempt.status(), "an unknown job's attempt is not current either");
    assertEquals(410, worker.post("/v1/workers/nobody/heartbeat", "{}").status());
  }

  private static List<String> texts(JsonNode array) {
    var texts = new java.util.ArrayList<String>();
    array.forEach(node -> texts.add(node.asText()));
    return texts;
  }
}
