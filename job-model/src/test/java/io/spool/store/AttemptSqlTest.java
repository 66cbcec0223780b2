package io.spool.store;

import static io.spool.testing.JobFixtures.aJob;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spool.model.Job;
import io.spool.model.JobJson;
import io.spool.model.JobStatus;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * {@link AttemptSql}: what a running attempt writes, each write fenced by the attempt that holds
 * the job.
 */
class AttemptSqlTest extends StatementTest {
  /** One row of a FINISH_MANY batch. */
  private static final class End {
    static AttemptSql.Ending completed(UUID id, int attempt, String result) {
      return new AttemptSql.Ending(id, attempt, JobStatus.COMPLETED, result, null, 0, false);
    }

    static AttemptSql.Ending failed(UUID id, int attempt, String error, long backoffMillis) {
      return new AttemptSql.Ending(id, attempt, JobStatus.FAILED, null, error, backoffMillis, true);
    }

    static AttemptSql.Ending failedForGood(UUID id, int attempt, String error) {
      return new AttemptSql.Ending(id, attempt, JobStatus.FAILED, null, error, 0, false);
    }

    static AttemptSql.Ending cancelled(UUID id, int attempt) {
      return new AttemptSql.Ending(id, attempt, JobStatus.CANCELLED, null, "cancelled", 0, false);
    }
  }

  private RowSet<Row> finish(AttemptSql.Ending... ends) {
    return run(AttemptSql.FINISH_MANY, AttemptSql.finishParams(List.of(ends)));
  }

  private UUID running(int attempt, int maxAttempts) {
    UUID id = insert(aJob("echo").withMaxAttempts(maxAttempts));
    makeRunning(id, "w1", attempt);
    return id;
  }

  @Test
  void completesARunningJobWithItsResult() {
    UUID id = running(1, 3);

    var rows = finish(End.completed(id, 1, "{\"answer\":42}"));

    assertEquals(List.of(id), ids(rows));
    Row row = rows.iterator().next();
    assertEquals("completed", row.getString("status"));
    assertFalse(row.getBoolean("keyed"));
    Job job = load(id);
    assertEquals(JobStatus.COMPLETED, job.status());
    assertEquals(JobJson.tree("{\"answer\":42}"), job.result());
    assertNotNull(job.finishedAt());
  }

  @Test
  void doesNotFinishAnAttemptThatWasReplaced() {
    UUID id = running(2, 3);

    assertEquals(
        List.of(),
        ids(finish(End.completed(id, 1, "{\"stale\":true}"))),
        "attempt 1 no longer holds the job");
    Job job = load(id);
    assertEquals(JobStatus.RUNNING, job.status());
    assertNull(job.result());
  }

  @Test
  void doesNotFinishAJobThatIsNoLongerRunning() {
    for (String status : List.of("pending", "completed", "failed", "cancelled")) {
      UUID id = running(1, 3);
      set(id, "status = '" + status + "'");

      assertEquals(
          List.of(),
          ids(finish(End.completed(id, 1, "{}"))),
          "a " + status + " job is not finished again");
      assertEquals(status, load(id).status().wire());
    }
  }

  @Test
  void aFailureThatMayNotBeRetriedFailsTheJobWhateverAttemptsRemain() {
    UUID id = running(1, 5);

    var rows = finish(End.failedForGood(id, 1, "bad input"));

    assertEquals("failed", rows.iterator().next().getString("status"));
    Job job = load(id);
    assertEquals(JobStatus.FAILED, job.status());
    assertEquals("bad input", job.error());
    assertNotNull(job.finishedAt(), "dead-lettered at once");
  }

  @Test
  void aFailureThatMayNotBeRetriedOfAJobAskedToCancelEndsItCancelled() {
    UUID id = running(1, 5);
    set(id, "cancel_requested = true");

    var rows = finish(End.failedForGood(id, 1, "cancelled"));

    assertEquals("cancelled", rows.iterator().next().getString("status"));
    assertTrue(rows.iterator().next().getBoolean("cancel_requested"));
  }

  @Test
  void aFailureWithAttemptsLeftGoesBackToPendingDueAfterItsBackoff() {
    UUID id = running(1, 3);

    var rows = finish(End.failed(id, 1, "boom", 5_000));

    Row row = rows.iterator().next();
    assertEquals("pending", row.getString("status"));
    Job job = load(id);
    assertEquals(JobStatus.PENDING, job.status());
    assertEquals("boom", job.error(), "the error stays visible while the retry waits");
    assertNull(job.finishedAt(), "a job waiting for its retry has not finished");
    var now = (OffsetDateTime) sql("SELECT now()").iterator().next().getValue(0);
    assertEquals(
        Duration.ofSeconds(5),
        Duration.between(now.toInstant(), job.runAt()),
        "due after its backoff");
    assertEquals(1, job.attempts(), "attempts counts attempts started; the retry's claim adds one");
  }

  @Test
  void aFailureOfTheLastAttemptIsDeadLettered() {
    UUID id = running(3, 3);

    finish(End.failed(id, 3, "boom", 5_000));

    Job job = load(id);
    assertEquals(JobStatus.FAILED, job.status());
    assertEquals("boom", job.error());
    assertNotNull(job.finishedAt());
  }

  @Test
  void onlyAttemptsSinceTheLastRequeueCountAgainstMaxAttempts() {
    UUID id = running(4, 3);
    set(id, "attempts_base = 3");

    finish(End.failed(id, 4, "boom", 0));

    assertEquals(
        JobStatus.PENDING,
        load(id).status(),
        "attempt 4 is the first of the run that the requeue started");
  }

  @Test
  void aFailureOfAJobAskedToCancelEndsItCancelledWithAttemptsLeft() {
    UUID id = running(1, 3);
    set(id, "cancel_requested = true");

    finish(End.failed(id, 1, "interrupted", 5_000));

    Job job = load(id);
    assertEquals(JobStatus.CANCELLED, job.status());
    assertNotNull(job.finishedAt());
  }

  @Test
  void aCancelledOutcomeEndsTheJob() {
    UUID id = running(1, 3);

    finish(End.cancelled(id, 1));

    assertEquals(JobStatus.CANCELLED, load(id).status());
  }

  @Test
  void endsManyAttemptsInOneStatementEachByItsOwnFence() {
    UUID done = running(1, 3);
    UUID retry = running(1, 3);
    UUID dead = running(2, 2);
    UUID stale = running(2, 3);
    UUID keyed = insert(aJob("echo").ofUser("u").withConcurrencyKey("k"));
    makeRunning(keyed, "w1", 1);

    var rows =
        finish(
            End.completed(done, 1, "{}"),
            End.failed(retry, 1, "e", 0),
            End.failed(dead, 2, "e", 0),
            End.completed(stale, 1, "{}"),
            End.completed(keyed, 1, "{}"));

    var became = new java.util.HashMap<UUID, String>();
    var keyedIds = new java.util.HashSet<UUID>();
    for (Row row : rows) {
      became.put(row.getUUID("id"), row.getString("status"));
      if (row.getBoolean("keyed")) {
        keyedIds.add(row.getUUID("id"));
      }
    }
    assertEquals(
        java.util.Map.of(done, "completed", retry, "pending", dead, "failed", keyed, "completed"),
        became);
    assertEquals(
        java.util.Set.of(keyed), keyedIds, "the caller frees the next job of each keyed one");
    assertEquals(JobStatus.RUNNING, load(stale).status());
  }

  @Test
  void aCheckpointIsSavedOnlyByTheAttemptThatHoldsTheJob() {
    UUID id = running(2, 3);

    assertEquals(
        0,
        run(
                AttemptSql.SAVE_CHECKPOINT,
                Map.of("id", id, "attempt", 1, "checkpoint", "{\"step\":1}"))
            .size(),
        "a replaced attempt saves nothing");
    assertNull(load(id).checkpoint());

    assertEquals(
        1,
        run(
                AttemptSql.SAVE_CHECKPOINT,
                Map.of("id", id, "attempt", 2, "checkpoint", "{\"step\":2}"))
            .size());
    assertEquals(JobJson.tree("{\"step\":2}"), load(id).checkpoint());
    assertNotNull(column(id, "checkpoint_at"));

    set(id, "status = 'completed'");
    assertEquals(
        0,
        run(
                AttemptSql.SAVE_CHECKPOINT,
                Map.of("id", id, "attempt", 2, "checkpoint", "{\"step\":3}"))
            .size(),
        "an ended job keeps its last checkpoint");
    assertEquals(JobJson.tree("{\"step\":2}"), load(id).checkpoint());
  }

  @Test
  void aSideEffectIsRecordedOnceAndOnlyByTheAttemptThatHoldsTheJob() {
    UUID id = running(2, 3);

    assertEquals(
        0,
        run(
                AttemptSql.RECORD_SIDE_EFFECT,
                Map.of("id", id, "name", "charge", "attempt", 1, "result", "{\"ok\":1}"))
            .size(),
        "a replaced attempt records nothing");
    assertEquals(0, run(AttemptSql.SELECT_SIDE_EFFECT, Map.of("id", id, "name", "charge")).size());

    assertEquals(
        1,
        run(
                AttemptSql.RECORD_SIDE_EFFECT,
                Map.of("id", id, "name", "charge", "attempt", 2, "result", "{\"ok\":2}"))
            .size());
    assertEquals(
        0,
        run(
                AttemptSql.RECORD_SIDE_EFFECT,
                Map.of("id", id, "name", "charge", "attempt", 2, "result", "{\"ok\":3}"))
            .size(),
        "a name is recorded once");
    var recorded = run(AttemptSql.SELECT_SIDE_EFFECT, Map.of("id", id, "name", "charge"));
    assertEquals("{\"ok\": 2}", recorded.iterator().next().getString("result"));
    assertEquals(
        0,
        run(AttemptSql.SELECT_SIDE_EFFECT, Map.of("id", id, "name", "other")).size(),
        "names are recorded apart");
  }
}
