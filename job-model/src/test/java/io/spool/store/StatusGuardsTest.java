package io.spool.store;

import static io.spool.model.JobStatus.CANCELLED;
import static io.spool.model.JobStatus.COMPLETED;
import static io.spool.model.JobStatus.FAILED;
import static io.spool.model.JobStatus.PENDING;
import static io.spool.model.JobStatus.RUNNING;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spool.model.JobStatus;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Each status-changing statement guards, in its own text, on the states it changes from. These are
 * checked here against {@link JobStatus}'s table: if the table changes, this fails until the
 * statements are changed with it.
 */
class StatusGuardsTest {
  private static void guards(String statement, String guard, Set<JobStatus> from, JobStatus... to) {
    assertTrue(
        statement.contains(guard), "the statement should guard with " + guard + ":\n" + statement);
    for (JobStatus target : to) {
      assertTrue(
          target.allowedFrom().containsAll(from), target + " is not allowed from all of " + from);
    }
  }

  @Test
  void claimsChangeOnlyPendingJobsAndAreTheOnlyWayToRunning() {
    assertEquals(EnumSet.of(PENDING), RUNNING.allowedFrom());
    guards(ClaimSql.CLAIM, "c.status = 'pending'", EnumSet.of(PENDING), RUNNING);
    guards(ClaimSql.CLAIM_NEXT, "c.status = 'pending'", EnumSet.of(PENDING), RUNNING);
  }

  @Test
  void attemptsEndOnlyRunningJobs() {
    assertEquals(EnumSet.of(RUNNING), COMPLETED.allowedFrom());
    guards(
        AttemptSql.FINISH_MANY,
        "j.status = 'running'",
        EnumSet.of(RUNNING),
        COMPLETED,
        FAILED,
        CANCELLED,
        PENDING);
  }

  @Test
  void lostAndHandedBackAttemptsChangeOnlyRunningJobs() {
    guards(LeaseSql.REAP, "j.status = 'running'", EnumSet.of(RUNNING), PENDING, FAILED, CANCELLED);
    guards(
        LeaseSql.REAP_ORPHANS,
        "j.status = 'running'",
        EnumSet.of(RUNNING),
        PENDING,
        FAILED,
        CANCELLED);
    guards(LeaseSql.HAND_BACK, "status = 'running'", EnumSet.of(RUNNING), PENDING, CANCELLED);
  }

  @Test
  void usersCancelPendingOrRunningJobsAndRequeueDeadLetters() {
    assertEquals(EnumSet.of(PENDING, RUNNING), CANCELLED.allowedFrom());
    guards(
        UserJobSql.CANCEL, "status IN ('pending', 'running')", CANCELLED.allowedFrom(), CANCELLED);
    guards(UserJobSql.REQUEUE, "status = 'failed'", EnumSet.of(FAILED), PENDING);
  }
}
