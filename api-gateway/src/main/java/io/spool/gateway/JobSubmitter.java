package io.spool.gateway;

import io.spool.model.Job;
import io.spool.model.NewJob;
import io.spool.ops.SpoolMetrics;
import io.spool.signal.QueueSignals;
import io.spool.signal.QueueSignals.Signal;
import io.spool.store.GroupCommit;
import io.spool.store.IdempotencySql;
import io.spool.store.JobRows;
import io.spool.store.SubmitSql;
import io.spool.store.UserJobSql;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.templates.SqlTemplate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Inserts new jobs, many requests to one commit under load (group commit), then signals each job on
 * its queue's stream. A request is answered when its rows are committed (design note 1 in
 * docs/architecture.md); the signal follows, and a lost signal only delays a job, since Postgres
 * holds it (design note 2 in docs/architecture.md).
 */
final class JobSubmitter {
  private static final Logger log = LoggerFactory.getLogger(JobSubmitter.class);

  /** Rows in one INSERT; one batch request (up to 1,000) always fits. */
  private static final int MAX_ROWS_PER_COMMIT = 2000;

  private static final int MAX_COMMITS_IN_FLIGHT = 1;

  private final SqlClient pg;

  /** Built once for the common path (no keys): it runs per insert batch. */
  private final SqlTemplate<Map<String, Object>, RowSet<Row>> insertMany;

  private final Pool transactions;
  private final QueueSignals signals;
  private final Duration idempotencyTtl;
  private final GroupCommit<List<NewJob>, List<Job>> commits;
  private final SpoolMetrics metrics;

  /**
   * A job as the request gets it back, and whether this request created it (false: an earlier one
   * with its key did).
   */
  record Submitted(Job job, boolean created) {}

  JobSubmitter(
      Context context,
      SqlClient pg,
      Pool transactions,
      QueueSignals signals,
      Duration idempotencyTtl,
      SpoolMetrics metrics) {
    this.metrics = metrics;
    this.pg = pg;
    this.insertMany = SqlTemplate.forQuery(pg, SubmitSql.INSERT_MANY);
    this.transactions = transactions;
    this.signals = signals;
    this.idempotencyTtl = idempotencyTtl;
    this.commits =
        new GroupCommit<>(
            context,
            this::insert,
            List::size,
            MAX_ROWS_PER_COMMIT,
            MAX_COMMITS_IN_FLIGHT,
            metrics.batchSizes("insert"));
  }

  /**
   * Commits the jobs (all or none) and answers them as stored. Jobs with an idempotency key go
   * through a transaction of their own that takes the keys first; the rest share group commits.
   */
  Future<List<Submitted>> submit(List<NewJob> jobs) {
    if (jobs.stream().allMatch(job -> job.idempotencyKey() == null && !job.rejectIfBusy())) {
      return commits
          .submit(jobs)
          .map(stored -> stored.stream().map(job -> new Submitted(job, true)).toList());
    }
    return transactions
        .withTransaction(conn -> submitKeyed(conn, jobs))
        .onSuccess(
            submitted ->
                signal(submitted.stream().filter(Submitted::created).map(Submitted::job).toList()));
  }

  /**
   * One request's jobs, some with keys, in one transaction: takes the free keys (a concurrent
   * request taking the same key makes this wait for its commit), then inserts the jobs whose key it
   * took and those without one. A key already held for the same request answers its existing job;
   * held for a different request, a 409 that rolls everything back.
   */
  private Future<List<Submitted>> submitKeyed(SqlConnection conn, List<NewJob> jobs) {
    Map<String, NewJob> firstWithKey = new LinkedHashMap<>();
    for (NewJob job : jobs) {
      if (job.idempotencyKey() != null) {
        NewJob first = firstWithKey.putIfAbsent(job.idempotencyKey(), job);
        if (first != null && !first.requestHash().equals(job.requestHash())) {
          return Future.failedFuture(conflict(job.idempotencyKey(), "in this batch"));
        }
      }
    }
    List<NewJob> keyed = List.copyOf(firstWithKey.values());
    return refuseBusyKeys(conn, jobs)
        .compose(v -> takeKeys(conn, keyed))
        .compose(
            taken ->
                heldJobIds(conn, jobs.get(0).userId(), firstWithKey, taken)
                    .compose(
                        existingIds -> {
                          List<NewJob> fresh =
                              jobs.stream()
                                  .filter(
                                      job ->
                                          job.idempotencyKey() == null
                                              || (taken.contains(job.idempotencyKey())
                                                  && firstWithKey.get(job.idempotencyKey()) == job))
                                  .toList();
                          Future<Map<UUID, Job>> inserted =
                              fresh.isEmpty()
                                  ? Future.succeededFuture(Map.of())
                                  : SqlTemplate.forQuery(conn, SubmitSql.INSERT_MANY)
                                      .execute(SubmitSql.insertParams(fresh))
                                      .map(rows -> storedById(fresh, rows));
                          Future<Map<UUID, Job>> earlier =
                              existingIds.isEmpty()
                                  ? Future.succeededFuture(Map.of())
                                  : SqlTemplate.forQuery(conn, UserJobSql.SELECT_MANY)
                                      .execute(
                                          Map.of("ids", existingIds.values().toArray(UUID[]::new)))
                                      .map(
                                          rows -> {
                                            Map<UUID, Job> byId = new HashMap<>();
                                            rows.forEach(
                                                row ->
                                                    byId.put(
                                                        row.getUUID("id"), JobRows.toJob(row)));
                                            return byId;
                                          });
                          return Future.all(inserted, earlier)
                              .map(
                                  both -> {
                                    var answers = new ArrayList<Submitted>(jobs.size());
                                    for (NewJob job : jobs) {
                                      String key = job.idempotencyKey();
                                      if (key == null) {
                                        answers.add(
                                            new Submitted(inserted.result().get(job.id()), true));
                                      } else if (taken.contains(key)) {
                                        NewJob first = firstWithKey.get(key);
                                        answers.add(
                                            new Submitted(
                                                inserted.result().get(first.id()), first == job));
                                      } else {
                                        answers.add(
                                            new Submitted(
                                                earlier.result().get(existingIds.get(key)), false));
                                      }
                                    }
                                    return answers;
                                  });
                        }));
  }

  /** Takes the keys that are free or expired; answers the ones taken. */
  private Future<Set<String>> takeKeys(SqlConnection conn, List<NewJob> keyed) {
    if (keyed.isEmpty()) {
      return Future.succeededFuture(Set.of());
    }
    return SqlTemplate.forQuery(conn, IdempotencySql.TAKE)
        .execute(
            Map.of(
                "users",
                keyed.stream().map(NewJob::userId).toArray(String[]::new),
                "keys",
                keyed.stream().map(NewJob::idempotencyKey).toArray(String[]::new),
                "hashes",
                keyed.stream().map(NewJob::requestHash).toArray(String[]::new),
                "jobs",
                keyed.stream().map(NewJob::id).toArray(UUID[]::new),
                "secs",
                idempotencyTtl.toSeconds()))
        .map(
            rows -> {
              Set<String> taken = new HashSet<>();
              rows.forEach(row -> taken.add(row.getString("key")));
              return taken;
            });
  }

  /**
   * The jobs named by the keys not taken, which earlier requests hold: 409 if one was held for a
   * different request.
   */
  private static Future<Map<String, UUID>> heldJobIds(
      SqlConnection conn, String user, Map<String, NewJob> firstWithKey, Set<String> taken) {
    String[] held =
        firstWithKey.keySet().stream().filter(k -> !taken.contains(k)).toArray(String[]::new);
    if (held.length == 0) {
      return Future.succeededFuture(Map.of());
    }
    return SqlTemplate.forQuery(conn, IdempotencySql.HELD)
        .execute(Map.of("user", user, "keys", held))
        .compose(
            rows -> {
              Map<String, UUID> ids = new HashMap<>();
              for (Row row : rows) {
                String key = row.getString("key");
                if (!row.getString("request_hash").equals(firstWithKey.get(key).requestHash())) {
                  return Future.failedFuture(conflict(key, "by an earlier request"));
                }
                ids.put(key, row.getUUID("job_id"));
              }
              if (ids.size() < held.length) {
                // Expired and taken by another request between the two statements: rare; a retry
                // settles it.
                return Future.failedFuture(
                    Problem.conflict(
                            "an idempotency key changed hands while this request ran; retry it")
                        .exception());
              }
              return Future.succeededFuture(ids);
            });
  }

  /**
   * Fails with 409 if a job submitted with {@code concurrency_strategy: reject} finds a pending or
   * running job of its concurrency key. The check holds a transaction-scoped advisory lock on the
   * key, so two such submissions at once cannot both pass.
   */
  private static Future<Void> refuseBusyKeys(SqlConnection conn, List<NewJob> jobs) {
    Future<Void> checks = Future.succeededFuture();
    var seen = new HashSet<String>();
    for (NewJob job : jobs) {
      if (job.concurrencyKey() == null) {
        continue;
      }
      boolean first = seen.add(job.concurrencyKey());
      if (!job.rejectIfBusy()) {
        continue;
      }
      if (!first) {
        return Future.failedFuture(busy(job.concurrencyKey()));
      }
      checks =
          checks.compose(
              v ->
                  SqlTemplate.forQuery(conn, SubmitSql.LOCK_CONCURRENCY_KEY)
                      .execute(Map.of("key", job.userId() + "\n" + job.concurrencyKey()))
                      .compose(
                          locked ->
                              SqlTemplate.forQuery(conn, SubmitSql.KEY_BUSY)
                                  .execute(
                                      Map.of("user", job.userId(), "key", job.concurrencyKey())))
                      .compose(
                          rows ->
                              rows.iterator().next().getBoolean("busy")
                                  ? Future.failedFuture(busy(job.concurrencyKey()))
                                  : Future.succeededFuture()));
    }
    return checks;
  }

  private static ProblemException busy(String key) {
    return Problem.conflict(
            "a job with concurrency_key '"
                + Problem.printable(key)
                + "' is pending or running, and concurrency_strategy is reject")
        .exception();
  }

  private static ProblemException conflict(String key, String where) {
    return Problem.conflict(
            "idempotency key '"
                + Problem.printable(key)
                + "' was used "
                + where
                + " with a different request; use a new key for a new job")
        .exception();
  }

  private Future<List<List<Job>>> insert(List<List<NewJob>> requests) {
    List<NewJob> all = requests.stream().flatMap(List::stream).toList();
    return insertMany
        .execute(SubmitSql.insertParams(all))
        .map(
            rows -> {
              Map<UUID, Job> inserted = storedById(all, rows);
              var answers = new ArrayList<List<Job>>(requests.size());
              for (List<NewJob> request : requests) {
                answers.add(request.stream().map(job -> inserted.get(job.id())).toList());
              }
              signal(answers.stream().flatMap(List::stream).toList());
              return answers;
            });
  }

  /** Counts and signals jobs this gateway created (not those an idempotency key found). */
  private void signal(List<Job> jobs) {
    jobs.forEach(job -> metrics.submitted(job.queue(), job.type()));
    signals
        .signal(jobs.stream().map(Signal::of).toList())
        .onFailure(
            e ->
                log.warn(
                    "could not signal {} committed jobs on Redis; they wait in Postgres: {}",
                    jobs.size(),
                    e.getMessage()));
  }

  /** The jobs as stored, by id, from the rows INSERT_MANY returned for them. */
  private static Map<UUID, Job> storedById(List<NewJob> jobs, RowSet<Row> rows) {
    Map<UUID, Row> byId = new HashMap<>(jobs.size() * 2);
    rows.forEach(row -> byId.put(row.getUUID("id"), row));
    Map<UUID, Job> stored = new HashMap<>(jobs.size() * 2);
    jobs.forEach(job -> stored.put(job.id(), stored(job, byId.get(job.id()))));
    return stored;
  }

  private static Job stored(NewJob job, Row inserted) {
    return Job.justSubmitted(
        job,
        inserted.getOffsetDateTime("submitted_at").toInstant(),
        inserted.getOffsetDateTime("run_at").toInstant());
  }
}
