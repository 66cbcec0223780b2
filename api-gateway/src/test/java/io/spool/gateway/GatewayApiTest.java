package io.spool.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spool.config.SpoolConfig;
import io.spool.model.JobJson;
import io.spool.signal.Keys;
import io.spool.testing.HttpJson;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class GatewayApiTest {
  static TestGateway running;
  static SpoolConfig config;
  static Gateway gateway;
  static HttpJson http;

  @BeforeAll
  static void start() {
    running = TestGateway.start(GatewayApiTest.class, "echo", "sleep");
    config = running.config;
    gateway = running.gateway;
    http = running.http;
  }

  @AfterAll
  static void stop() {
    running.close();
  }

  @Test
  void submittedJobIsCommittedThenSignalledOnItsQueueAndTypeStream() {
    var response = http.post("/v1/jobs", "{\"type\":\"echo\",\"request\":{\"hello\":\"world\"}}");
    assertEquals(202, response.status());
    String id = response.json().get("id").asText();
    assertEquals("/v1/jobs/" + id, response.header("Location"));
    assertEquals("pending", response.json().get("status").asText());
    assertEquals("default", response.json().get("queue").asText());
    assertEquals(config.jobs().maxAttempts(), response.json().get("max_attempts").asInt());
    assertNotNull(response.json().get("submitted_at").asText());

    var row =
        gateway
            .pg()
            .preparedQuery("SELECT status, request::text FROM jobs WHERE id = $1")
            .execute(Tuple.of(UUID.fromString(id)))
            .await()
            .iterator()
            .next();
    assertEquals("pending", row.getString(0));
    assertEquals("world", JobJson.tree(row.getString(1)).get("hello").asText());

    var entries =
        gateway
            .redis()
            .send(
                Request.cmd(Command.XRANGE)
                    .arg(config.keys().queueStream("default", "echo"))
                    .arg("-")
                    .arg("+"))
            .await();
    var signalled = new HashSet<String>();
    entries.forEach(entry -> signalled.add(entry.get(1).get(1).toString()));
    assertTrue(signalled.contains(id), "the job id was added to the queue's stream");
    assertEquals(Keys.FIELD_JOB_ID, entries.get(0).get(1).get(0).toString());
  }

  @Test
  void getAnswersTheJobAndUnknownIdsAre404() {
    String id =
        http.post("/v1/jobs", "{\"type\":\"echo\",\"queue\":\"q.get\",\"max_attempts\":5}")
            .json()
            .get("id")
            .asText();
    var job = http.get("/v1/jobs/" + id);
    assertEquals(200, job.status());
    assertEquals(id, job.json().get("id").asText());
    assertEquals("q.get", job.json().get("queue").asText());
    assertEquals(5, job.json().get("max_attempts").asInt());
    assertTrue(job.json().get("request").isObject());
    assertTrue(job.json().get("result").isNull());

    var missing = http.get("/v1/jobs/" + UUID.randomUUID());
    assertEquals(404, missing.status());
    assertEquals(Problem.CONTENT_TYPE, missing.header("Content-Type"));
  }

  /**
   * Reads that arrive together share statements (JobReader): each caller still gets its own job.
   */
  @Test
  void manyReadsAtOnceEachAnswerTheirOwnJob() throws Exception {
    var ids = new java.util.ArrayList<String>();
    for (int i = 0; i < 40; i++) {
      ids.add(
          http.post("/v1/jobs", "{\"type\":\"echo\",\"request\":{\"n\":" + i + "}}")
              .json()
              .get("id")
              .asText());
    }
    ids.add(UUID.randomUUID().toString());
    var readers = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();
    var reads = ids.stream().map(id -> readers.submit(() -> http.get("/v1/jobs/" + id))).toList();
    readers.close();
    for (int i = 0; i < ids.size(); i++) {
      var answer = reads.get(i).get(30, java.util.concurrent.TimeUnit.SECONDS);
      if (i == ids.size() - 1) {
        assertEquals(404, answer.status(), "an unknown id among known ones");
        continue;
      }
      assertEquals(200, answer.status());
      assertEquals(ids.get(i), answer.json().get("id").asText());
      assertEquals(i, answer.json().get("request").get("n").asInt());
    }
  }

  @Test
  void listsNewestFirstWithFiltersAndCursorPagination() {
    var ids = new ArrayList<String>();
    for (int i = 0; i < 5; i++) {
      ids.add(
          http.post("/v1/jobs", "{\"type\":\"sleep\",\"queue\":\"listing\",\"request\":{\"ms\":1}}")
              .json()
              .get("id")
              .asText());
    }
    var seen = new ArrayList<String>();
    String cursor = null;
    do {
      var page =
          http.get(
              "/v1/jobs?type=sleep&status=pending&limit=2"
                  + (cursor == null ? "" : "&cursor=" + cursor));
      assertEquals(200, page.status());
      page.json()
          .get("jobs")
          .forEach(
              job -> {
                assertEquals("sleep", job.get("type").asText());
                seen.add(job.get("id").asText());
              });
      cursor =
          page.json().get("next_cursor").isNull() ? null : page.json().get("next_cursor").asText();
    } while (cursor != null);
    assertEquals(ids.reversed(), seen);

    var none = http.get("/v1/jobs?status=completed&type=sleep");
    assertEquals(0, none.json().get("jobs").size());
    assertTrue(none.json().get("next_cursor").isNull());
  }

  @Test
  void batchCommitsAThousandJobsAtOnceOrNothing() {
    var body = JobJson.MAPPER.createObjectNode();
    var jobs = body.putArray("jobs");
    for (int i = 0; i < 1000; i++) {
      jobs.addObject().put("type", "echo").put("queue", "batch").putObject("request").put("i", i);
    }
    var accepted = http.post("/v1/jobs/batch", JobJson.encode(body));
    assertEquals(202, accepted.status());
    assertEquals(1000, accepted.json().get("jobs").size());
    assertEquals(999, accepted.json().get("jobs").get(999).get("request").get("i").asInt());
    assertEquals(1000L, countInQueue("batch"));

    jobs.removeAll();
    jobs.addObject().put("type", "echo").put("queue", "batch-bad");
    jobs.addObject().put("type", "no-such-type").put("queue", "batch-bad");
    var rejected = http.post("/v1/jobs/batch", JobJson.encode(body));
    assertEquals(422, rejected.status());
    assertEquals("jobs[1].type", rejected.json().get("errors").get(0).get("field").asText());
    assertEquals(0L, countInQueue("batch-bad"), "nothing of a rejected batch is stored");

    jobs.removeAll();
    for (int i = 0; i < 1001; i++) {
      jobs.addObject().put("type", "echo");
    }
    assertEquals(422, http.post("/v1/jobs/batch", JobJson.encode(body)).status());
  }

  @Test
  void unknownTypeIs422AndListsTheKnownTypes() {
    var response = http.post("/v1/jobs", "{\"type\":\"nope\"}");
    assertEquals(422, response.status());
    assertEquals(Problem.CONTENT_TYPE, response.header("Content-Type"));
    String message = response.json().get("errors").get(0).get("message").asText();
    assertTrue(message.contains("echo") && message.contains("sleep"), message);
  }

  @Test
  void readinessReflectsPostgres() {
    var ready = http.get("/health/ready");
    assertEquals(200, ready.status());
    assertEquals("up", ready.json().get("postgres").asText());
    assertEquals(200, http.get("/health/live").status());
  }

  private long countInQueue(String queue) {
    return gateway
        .pg()
        .preparedQuery("SELECT count(*) FROM jobs WHERE queue = $1")
        .execute(Tuple.of(queue))
        .await()
        .iterator()
        .next()
        .getLong(0);
  }
}
