package io.spool.store;

import static io.spool.testing.JobFixtures.aJob;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.spool.model.Job;
import io.spool.model.JobStatus;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** {@link ClaimSql}: which pending jobs become running, for whom, with which attempt. */
class ClaimSqlTest extends StatementTest {
  /** The types the tests' worker serves. */
  private static final String[] TYPES = {"echo", "sleep"};

  private List<UUID> claim(String worker, UUID... ids) {
    return ids(run(ClaimSql.CLAIM, Map.of("ids", ids, "worker", worker, "types", TYPES)));
  }

  private List<UUID> claimNext(String worker, int max, String... queues) {
    return ids(
        run(
            ClaimSql.CLAIM_NEXT,
            Map.of("queues", queues, "types", TYPES, "worker", worker, "max", max)));
  }

  @org.junit.jupiter.api.BeforeEach
  void registerTheWorkers() {
    for (String worker : List.of("w1", "w2")) {
      sql("INSERT INTO workers (id, queues) VALUES ($1, '{default}')", worker);
    }
  }

  @Test
  void anUnregisteredWorkerClaimsNothing() {
    UUID id = insert(aJob("echo"));
    assertEquals(List.of(), claim("gone", id), "declared dead, or left while its claim waited");
    assertEquals(List.of(), claimNext("gone", 10, "default"));
    assertEquals(JobStatus.PENDING, load(id).status());
  }

  @Test
  void claimsOnlyJobsOfTheTypesTheWorkerServes() {
    UUID served = insert(aJob("echo"));
    UUID other = insert(aJob("research"));

    assertEquals(List.of(served), claim("w1", served, other));
    assertEquals(JobStatus.PENDING, load(other).status(), "left for a worker that serves it");
    assertEquals(List.of(), claimNext("w1", 10, "default"), "nor from Postgres alone");
    assertEquals(JobStatus.PENDING, load(other).status());
  }

  @Test
  void claimsAPendingDueJobForTheWorkerWithItsNextAttempt() {
    UUID id = insert(aJob("echo"));
    set(id, "attempts = 2, result = '{\"old\":1}', error = 'earlier failure', finished_at = now()");

    var rows = run(ClaimSql.CLAIM, Map.of("ids", new UUID[] {id}, "worker", "w1", "types", TYPES));

    assertEquals(1, rows.size());
    Job returned = JobRows.toJob(rows.iterator().next());
    assertEquals(JobStatus.RUNNING, returned.status());
    assertEquals(
        3,
        returned.attempts(),
        "the claim returns the new attempt number, the fence of later writes");
    Job stored = load(id);
    assertEquals(JobStatus.RUNNING, stored.status());
    assertEquals(3, stored.attempts());
    assertEquals("w1", column(id, "lease_owner"));
    assertNotNull(stored.startedAt());
    assertNull(stored.finishedAt(), "a new attempt clears the last one's end");
    assertNull(stored.result());
    assertNull(stored.error());
  }

  @Test
  void claimsOnlyTheJobsNamedAndIgnoresUnknownIds() {
    UUID a = insert(aJob("echo"));
    UUID b = insert(aJob("echo"));
    UUID unknown = UUID.randomUUID();

    assertEquals(List.of(a), claim("w1", a, unknown));
    assertEquals(JobStatus.PENDING, load(b).status());
  }

  @Test
  void doesNotClaimAJobThatIsNotPending() {
    for (String status : List.of("running", "completed", "failed", "cancelled")) {
      UUID id = insert(aJob("echo"));
      set(id, "status = '" + status + "', attempts = 1, lease_owner = 'w0'");

      assertEquals(List.of(), claim("w1", id), status + " is not claimable");
      assertEquals(
          1, load(id).attempts(), "the attempt count of a " + status + " job is untouched");
      assertEquals("w0", column(id, "lease_owner"));
    }
  }

  @Test
  void doesNotClaimAJobBeforeItIsDue() {
    UUID later = insert(aJob("echo").dueAt(Instant.now().plus(1, ChronoUnit.HOURS)));
    UUID due = insert(aJob("echo").dueAt(Instant.now().minus(1, ChronoUnit.SECONDS)));

    assertEquals(List.of(due), claim("w1", later, due));
    assertEquals(JobStatus.PENDING, load(later).status());
  }

  @Test
  void doesNotClaimAJobBehindAnEarlierPendingJobOfTheSameConcurrencyKey() {
    UUID first = insert(aJob("echo").ofUser("u").withConcurrencyKey("k"));
    UUID second = insert(aJob("echo").ofUser("u").withConcurrencyKey("k"));

    assertEquals(List.of(), claim("w1", second), "the earlier job of the key goes first");
    assertEquals(List.of(first), claim("w1", first));
    assertEquals(List.of(), claim("w1", second), "one job of a key runs at a time");

    set(first, "status = 'completed', finished_at = now()");
    assertEquals(
        List.of(second), claim("w1", second), "the key is free once its running job ended");
  }

  @Test
  void aConcurrencyKeyBlocksOnlyJobsOfTheSameUserAndKey() {
    UUID running = insert(aJob("echo").ofUser("u").withConcurrencyKey("k"));
    makeRunning(running, "w0", 1);
    UUID otherUser = insert(aJob("echo").ofUser("v").withConcurrencyKey("k"));
    UUID otherKey = insert(aJob("echo").ofUser("u").withConcurrencyKey("k2"));
    UUID noKey = insert(aJob("echo").ofUser("u"));
    UUID blocked = insert(aJob("echo").ofUser("u").withConcurrencyKey("k"));

    assertEquals(
        List.of(otherUser, otherKey, noKey), claim("w1", otherUser, otherKey, noKey, blocked));
    assertEquals(JobStatus.PENDING, load(blocked).status());
  }

  @Test
  void claimNextTakesTheHighestPriorityFirstThenTheEarliestDueUpToTheLimit() {
    Instant now = Instant.now();
    UUID low = insert(aJob("echo").withPriority(0).dueAt(now.minusSeconds(60)));
    UUID highLater = insert(aJob("echo").withPriority(5).dueAt(now.minusSeconds(1)));
    UUID highEarlier = insert(aJob("echo").withPriority(5).dueAt(now.minusSeconds(30)));

    assertEquals(List.of(highEarlier, highLater), claimNext("w1", 2, "default"));
    assertEquals(List.of(low), claimNext("w1", 2, "default"));
    assertEquals(List.of(), claimNext("w1", 2, "default"));
  }

  @Test
  void claimNextReadsOnlyTheGivenQueuesAndSkipsWhatIsNotClaimable() {
    UUID elsewhere = insert(aJob("echo").inQueue("other"));
    UUID notDue = insert(aJob("echo").dueAt(Instant.now().plus(1, ChronoUnit.HOURS)));
    UUID first = insert(aJob("echo").ofUser("u").withConcurrencyKey("k"));
    UUID behind = insert(aJob("echo").ofUser("u").withConcurrencyKey("k"));
    UUID email = insert(aJob("echo").inQueue("email"));

    var claimed = claimNext("w1", 10, "default", "email");

    assertEquals(List.of(first, email), claimed.stream().sorted().toList());
    for (UUID untouched : List.of(elsewhere, notDue, behind)) {
      assertEquals(JobStatus.PENDING, load(untouched).status());
    }
    assertEquals(1, load(first).attempts());
  }

  @Test
  void pendingPagesWalkThePendingJobsInIdOrder() {
    UUID first = insert(aJob("echo"));
    UUID running = insert(aJob("echo"));
    makeRunning(running, "w0", 1);
    UUID second = insert(aJob("echo").dueAt(Instant.now().plus(1, ChronoUnit.HOURS)));
    UUID third = insert(aJob("echo"));
    insert(aJob("echo").inQueue("elsewhere"));

    var start = new java.util.HashMap<String, Object>();
    start.put("queues", new String[] {"default"});
    start.put("after", null);
    start.put("max", 2);
    assertEquals(
        List.of(first, second),
        ids(run(ClaimSql.PENDING_PAGE, start)),
        "from the start, due or not");
    assertEquals(
        List.of(third),
        ids(
            run(
                ClaimSql.PENDING_PAGE,
                Map.of("queues", new String[] {"default"}, "after", second, "max", 2))),
        "only the queues asked for");
  }

  @Test
  void pendingAmongAnswersWhichSignalledJobsAreStillWaitingAndWhenTheyAreDue() {
    UUID due = insert(aJob("echo"));
    UUID later = insert(aJob("echo").dueAt(Instant.now().plus(1, ChronoUnit.HOURS)));
    UUID running = insert(aJob("echo"));
    makeRunning(running, "w0", 1);
    UUID first = insert(aJob("echo").ofUser("u").withConcurrencyKey("k"));
    UUID behind = insert(aJob("echo").ofUser("u").withConcurrencyKey("k"));

    var rows =
        run(
            ClaimSql.SELECT_PENDING_AMONG,
            Map.of("ids", new UUID[] {due, later, running, first, behind}));

    var dueIn = new java.util.HashMap<UUID, Long>();
    rows.forEach(row -> dueIn.put(row.getUUID("id"), row.getLong("due_in_ms")));
    assertEquals(
        java.util.Set.of(due, later, first),
        dueIn.keySet(),
        "running and key-blocked jobs are not waiting for a signal");
    assertEquals(0L, dueIn.get(due));
    double hour = 3_600_000.0;
    assertEquals(hour, dueIn.get(later).doubleValue(), 60_000.0);
  }

  @Test
  void nextOfKeysNamesTheEarliestPendingJobOfEachKeyThatJustFreed() {
    UUID ended = insert(aJob("echo").ofUser("u").withConcurrencyKey("k"));
    UUID next = insert(aJob("echo").ofUser("u").withConcurrencyKey("k"));
    insert(aJob("echo").ofUser("u").withConcurrencyKey("k"));
    UUID otherUsers = insert(aJob("echo").ofUser("v").withConcurrencyKey("k"));
    set(ended, "status = 'completed', finished_at = now()");

    assertEquals(
        List.of(next),
        ids(run(ClaimSql.NEXT_OF_KEYS, Map.of("ids", new UUID[] {ended}))),
        "the earliest waiting job of that user's key only, not " + otherUsers + " of another user");
  }

  @Test
  void nextOfKeysFreesNothingWhileAnotherJobOfTheKeyRunsAndNeverNamesAJobOfItsOwnInput() {
    UUID ended = insert(aJob("echo").ofUser("u").withConcurrencyKey("k"));
    UUID running = insert(aJob("echo").ofUser("u").withConcurrencyKey("k"));
    UUID waiting = insert(aJob("echo").ofUser("u").withConcurrencyKey("k"));
    set(ended, "status = 'failed', finished_at = now()");
    makeRunning(running, "w0", 1);

    assertEquals(List.of(), ids(run(ClaimSql.NEXT_OF_KEYS, Map.of("ids", new UUID[] {ended}))));

    set(running, "status = 'pending', lease_owner = NULL");
    assertEquals(
        List.of(),
        ids(run(ClaimSql.NEXT_OF_KEYS, Map.of("ids", new UUID[] {running}))),
        "a job that went back to pending is signalled by whoever put it back, and "
            + waiting
            + " waits behind it");
  }
}
