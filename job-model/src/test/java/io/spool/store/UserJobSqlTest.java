package io.spool.store;

import static io.spool.testing.JobFixtures.aJob;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spool.model.Job;
import io.spool.model.JobStatus;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * {@link UserJobSql}: what a user's calls change and read, and that they reach only the user's own
 * jobs.
 */
class UserJobSqlTest extends StatementTest {
  private UUID deadLetter(String user, int attempts) {
    UUID id = insert(aJob("echo").ofUser(user).withMaxAttempts(attempts));
    set(
        id,
        "status = 'failed', attempts = "
            + attempts
            + ", error = 'boom', result = '{\"partial\":1}', finished_at = now()");
    return id;
  }

  @Test
  void cancelOfAPendingJobEndsItAtOnce() {
    UUID id = insert(aJob("echo").ofUser("u"));

    var rows = run(UserJobSql.CANCEL, Map.of("id", id, "user", "u"));

    assertEquals(JobStatus.CANCELLED, JobRows.toJob(rows.iterator().next()).status());
    Job job = load(id);
    assertEquals(JobStatus.CANCELLED, job.status());
    assertEquals("cancelled", job.error());
    assertNotNull(job.finishedAt());
    assertFalse(job.cancelRequested(), "nobody runs it, so nobody needs to be asked");
  }

  @Test
  void cancelOfARunningJobAsksItsWorkerAndLeavesItRunning() {
    UUID id = insert(aJob("echo").ofUser("u"));
    makeRunning(id, "w1", 1);

    var rows = run(UserJobSql.CANCEL, Map.of("id", id, "user", "u"));

    Job returned = JobRows.toJob(rows.iterator().next());
    assertEquals(JobStatus.RUNNING, returned.status());
    assertTrue(returned.cancelRequested());
    assertNull(load(id).finishedAt(), "its worker ends it");
  }

  @Test
  void cancelMatchesNothingForAnEndedJobOrAnotherUsersJob() {
    for (String status : List.of("completed", "failed", "cancelled")) {
      UUID id = insert(aJob("echo").ofUser("u"));
      set(id, "status = '" + status + "', finished_at = now()");
      assertEquals(
          0,
          run(UserJobSql.CANCEL, Map.of("id", id, "user", "u")).size(),
          "a " + status + " job cannot be cancelled");
      assertFalse(load(id).cancelRequested());
    }
    UUID others = insert(aJob("echo").ofUser("v"));
    assertEquals(0, run(UserJobSql.CANCEL, Map.of("id", others, "user", "u")).size());
    assertEquals(JobStatus.PENDING, load(others).status());
  }

  @Test
  void requeueOfADeadLetterStartsAFreshRunAndKeepsTheAttemptCount() {
    UUID id = deadLetter("u", 3);
    set(id, "cancel_requested = true");

    var rows = run(UserJobSql.REQUEUE, Map.of("id", id, "user", "u"));

    assertEquals(1, rows.size());
    Job job = load(id);
    assertEquals(JobStatus.PENDING, job.status());
    assertEquals(3, job.attempts(), "attempts never goes down: it is the fencing token");
    assertEquals(3, column(id, "attempts_base"), "the new run's attempts count from here");
    assertNull(job.result());
    assertNull(job.finishedAt());
    assertFalse(job.cancelRequested());
    var now = sql("SELECT now() AS now").iterator().next().getOffsetDateTime("now").toInstant();
    assertEquals(now, job.runAt(), "due at once");
  }

  @Test
  void requeueMatchesNothingUnlessTheJobIsTheUsersUndiscardedDeadLetter() {
    UUID completed = insert(aJob("echo").ofUser("u"));
    set(completed, "status = 'completed'");
    UUID discarded = deadLetter("u", 1);
    set(discarded, "discarded_at = now()");
    UUID others = deadLetter("v", 1);

    assertEquals(0, run(UserJobSql.REQUEUE, Map.of("id", completed, "user", "u")).size());
    assertEquals(0, run(UserJobSql.REQUEUE, Map.of("id", discarded, "user", "u")).size());
    assertEquals(0, run(UserJobSql.REQUEUE, Map.of("id", others, "user", "u")).size());
    assertEquals(JobStatus.FAILED, load(others).status());
  }

  @Test
  void discardTakesADeadLetterOutOfTheQueueOnceAndItStaysFailed() {
    UUID id = deadLetter("u", 1);

    assertEquals(1, run(UserJobSql.DISCARD, Map.of("id", id, "user", "u")).size());
    assertEquals(
        0, run(UserJobSql.DISCARD, Map.of("id", id, "user", "u")).size(), "already discarded");
    assertEquals(JobStatus.FAILED, load(id).status());
    var status = run(UserJobSql.SELECT_OWN_STATUS, Map.of("id", id, "user", "u")).iterator().next();
    assertEquals("failed", status.getString("status"));
    assertTrue(status.getBoolean("discarded"));
    assertEquals(
        0,
        run(UserJobSql.SELECT_OWN_STATUS, Map.of("id", id, "user", "v")).size(),
        "another user learns nothing");
  }

  @Test
  void listOwnPagesAUsersJobsNewestFirstWithItsFilters() {
    UUID a = insert(aJob("echo").ofUser("u"));
    UUID b = insert(aJob("sleep").ofUser("u"));
    UUID c = deadLetter("u", 1);
    UUID d = insert(aJob("echo").ofUser("u"));
    insert(aJob("echo").ofUser("v"));
    UUID discarded = deadLetter("u", 1);
    set(discarded, "discarded_at = now()");

    assertEquals(
        List.of(discarded, d, c, b, a),
        ids(run(UserJobSql.listOwn(false, false, false, false), Map.of("user", "u", "limit", 10))));
    assertEquals(
        List.of(discarded, d),
        ids(run(UserJobSql.listOwn(false, false, false, false), Map.of("user", "u", "limit", 2))));
    assertEquals(
        List.of(c, b),
        ids(
            run(
                UserJobSql.listOwn(false, false, true, false),
                Map.of("user", "u", "after", d, "limit", 2))),
        "the page after d");
    assertEquals(
        List.of(d, a),
        ids(
            run(
                UserJobSql.listOwn(true, true, false, false),
                Map.of("user", "u", "status", "pending", "type", "echo", "limit", 10))));
    assertEquals(
        List.of(c),
        ids(run(UserJobSql.listOwn(false, false, false, true), Map.of("user", "u", "limit", 10))),
        "the dead-letter queue: failed and not discarded");
  }
}
