package io.spool.store;

import static io.spool.testing.JobFixtures.aJob;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spool.model.Job;
import io.spool.model.JobStatus;
import io.vertx.sqlclient.Row;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** {@link LeaseSql}: what becomes of the jobs of a worker that went silent or is stopping. */
class LeaseSqlTest extends StatementTest {
  private static final double VISIBILITY_SECS = 30;

  private UUID runningOn(String worker, int attempt, int maxAttempts) {
    UUID id = insert(aJob("echo").withMaxAttempts(maxAttempts));
    makeRunning(id, worker, attempt);
    return id;
  }

  /**
   * REAP's rows: the jobs it returned (id to the status they got) and, under "workers", the workers
   * it forgot.
   */
  private Map<String, String> reap() {
    var out = new HashMap<String, String>();
    for (Row row : run(LeaseSql.REAP, Map.of("secs", VISIBILITY_SECS))) {
      if (row.getString("kind").equals("job")) {
        out.put(row.getString("id"), row.getString("status"));
      } else {
        out.merge("workers", row.getString("id"), (a, b) -> a + "," + b);
      }
    }
    return out;
  }

  @Test
  void reapForgetsASilentWorkerAndReturnsItsRunningJobsToPending() {
    worker("dead", 60);
    UUID id = runningOn("dead", 1, 3);

    var reaped = reap();

    assertEquals(Map.of(id.toString(), "pending", "workers", "dead"), reaped);
    Job job = load(id);
    assertEquals(JobStatus.PENDING, job.status());
    assertEquals(1, job.attempts(), "the lost attempt still counts");
    assertNull(column(id, "lease_owner"));
    assertNull(job.finishedAt());
    assertTrue(
        job.error().contains("attempt 1 lost: worker dead stopped heartbeating"), job.error());
    assertEquals(0, sql("SELECT 1 FROM workers WHERE id = 'dead'").size());
  }

  @Test
  void reapDeadLettersAJobWhoseLastAttemptWasLost() {
    worker("dead", 60);
    UUID id = runningOn("dead", 2, 2);

    assertEquals("failed", reap().get(id.toString()));
    Job job = load(id);
    assertEquals(JobStatus.FAILED, job.status(), "a job that kills its worker cannot loop forever");
    assertNotNull(job.finishedAt());
  }

  @Test
  void reapCountsOnlyTheAttemptsSinceTheLastRequeue() {
    worker("dead", 60);
    UUID id = runningOn("dead", 3, 2);
    set(id, "attempts_base = 2");

    assertEquals("pending", reap().get(id.toString()));
  }

  @Test
  void reapCancelsALostJobThatWasAskedToCancel() {
    worker("dead", 60);
    UUID id = runningOn("dead", 1, 3);
    set(id, "cancel_requested = true");

    assertEquals("cancelled", reap().get(id.toString()));
    assertNotNull(load(id).finishedAt());
  }

  @Test
  void reapLeavesLiveWorkersTheirJobsAndTouchesNoOtherStatus() {
    worker("alive", 5);
    worker("dead", 60);
    UUID alive = runningOn("alive", 1, 3);
    UUID endedOnDead = runningOn("dead", 1, 3);
    set(endedOnDead, "status = 'completed'");

    assertEquals(Map.of("workers", "dead"), reap());
    assertEquals(JobStatus.RUNNING, load(alive).status());
    assertEquals("alive", column(alive, "lease_owner"));
    assertEquals(JobStatus.COMPLETED, load(endedOnDead).status());
  }

  @Test
  void reapOrphansReturnsRunningJobsWhoseOwnerHasNoFreshHeartbeatRow() {
    worker("alive", 5);
    worker("stale", 60);
    UUID alive = runningOn("alive", 1, 3);
    UUID noRow = runningOn("gone", 1, 3);
    UUID staleRow = runningOn("stale", 1, 3);
    UUID lastAttempt = runningOn("gone", 3, 3);

    var rows = run(LeaseSql.REAP_ORPHANS, Map.of("secs", VISIBILITY_SECS));

    var became = new HashMap<UUID, String>();
    rows.forEach(row -> became.put(row.getUUID("id"), row.getString("status")));
    assertEquals(Map.of(noRow, "pending", staleRow, "pending", lastAttempt, "failed"), became);
    assertEquals(JobStatus.RUNNING, load(alive).status());
    assertEquals(
        1,
        sql("SELECT 1 FROM workers WHERE id = 'stale'").size(),
        "the orphan sweep deletes no workers");
  }

  @Test
  void handBackReturnsAStoppingWorkersRunningJobsAtOnce() {
    UUID mine = runningOn("w1", 1, 1);
    UUID cancelled = runningOn("w1", 1, 3);
    set(cancelled, "cancel_requested = true");
    UUID others = runningOn("w2", 1, 3);
    UUID endedMine = runningOn("w1", 1, 3);
    set(endedMine, "status = 'completed'");

    var rows = run(LeaseSql.HAND_BACK, Map.of("worker", "w1"));

    var became = new HashMap<UUID, String>();
    rows.forEach(row -> became.put(row.getUUID("id"), row.getString("status")));
    assertEquals(
        Map.of(mine, "pending", cancelled, "cancelled"),
        became,
        "handed back, even on its last attempt: the attempt was not the job's fault");
    assertNull(column(mine, "lease_owner"));
    assertNull(load(mine).finishedAt());
    assertNotNull(load(cancelled).finishedAt());
    assertEquals(JobStatus.RUNNING, load(others).status());
    assertEquals(JobStatus.COMPLETED, load(endedMine).status());
  }

  @Test
  void aWorkerLearnsWhichOfItsJobsItHoldsAndWhichItWasAskedToCancel() {
    UUID held = runningOn("w1", 2, 3);
    UUID cancel = runningOn("w1", 1, 3);
    set(cancel, "cancel_requested = true");
    runningOn("w2", 1, 3);
    UUID ended = runningOn("w1", 1, 3);
    set(ended, "status = 'failed', cancel_requested = true");

    var heldLeases = new HashMap<UUID, Integer>();
    run(LeaseSql.HELD_LEASES, Map.of("worker", "w1"))
        .forEach(row -> heldLeases.put(row.getUUID("id"), row.getInteger("attempts")));
    assertEquals(Map.of(held, 2, cancel, 1), heldLeases);
    assertEquals(List.of(cancel), ids(run(LeaseSql.CANCEL_REQUESTED, Map.of("worker", "w1"))));
  }
}
