package io.spool.model;

import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.UUID;

/**
 * The SQL both sides run against the {@code jobs} table. Status guards come from {@link JobStatus}'s
 * transition table; every worker write is fenced by {@code (id, attempts)} (design note 3).
 */
public final class JobSql {
  /** The columns of a {@link Job}, JSON columns as text for Jackson. */
  public static final String COLUMNS = "id, type, queue, user_id, request::text AS request, status, "
      + "result::text AS result, error, attempts, max_attempts, submitted_at, started_at, finished_at, "
      + "priority, run_at, timeout_secs, cancel_requested, callback_url, checkpoint::text AS checkpoint, concurrency_key";

  /**
   * A pending job {@code alias} may start: it has no concurrency key, or no job of its user with the
   * same key is running or pending from earlier (submission order is id order).
   */
  static String notBlocked(String alias) {
    return "(%1$s.concurrency_key IS NULL OR NOT EXISTS (SELECT 1 FROM jobs o WHERE o.user_id = %1$s.user_id"
        .formatted(alias) + " AND o.concurrency_key = %1$s.concurrency_key AND o.id <> %1$s.id".formatted(alias)
        + " AND (o.status = 'running' OR (o.status = 'pending' AND o.id < %1$s.id))))".formatted(alias);
  }

  /** Many new jobs in one statement (one commit): parallel arrays, one element per job. */
  public static final String INSERT_MANY = """
      INSERT INTO jobs (id, type, queue, user_id, request, status, max_attempts, priority, run_at, timeout_secs,
                        callback_url, concurrency_key)
      SELECT u.id, u.type, u.queue, u.user_id, u.request::jsonb, 'pending', u.max_attempts, u.priority,
             coalesce(u.run_at, now()), u.timeout_secs, u.callback_url, u.concurrency_key
      FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::int[],
                  $8::timestamptz[], $9::int[], $10::text[], $11::text[])
        AS u(id, type, queue, user_id, request, max_attempts, priority, run_at, timeout_secs, callback_url,
             concurrency_key)
      RETURNING id, submitted_at, run_at""";

  /** The parameters of {@link #INSERT_MANY} for these jobs. */
  public static Tuple insertArgs(List<NewJob> jobs) {
    int n = jobs.size();
    var ids = new UUID[n];
    var types = new String[n];
    var queues = new String[n];
    var users = new String[n];
    var requests = new String[n];
    var attempts = new Integer[n];
    var priorities = new Integer[n];
    var runAts = new OffsetDateTime[n];
    var timeouts = new Integer[n];
    var callbacks = new String[n];
    var concurrencyKeys = new String[n];
    for (int i = 0; i < n; i++) {
      NewJob job = jobs.get(i);
      ids[i] = job.id();
      types[i] = job.type();
      queues[i] = job.queue();
      users[i] = job.userId();
      requests[i] = JobJson.encode(job.request());
      attempts[i] = job.maxAttempts();
      priorities[i] = job.priority();
      runAts[i] = job.runAt() == null ? null : job.runAt().atOffset(ZoneOffset.UTC);
      timeouts[i] = job.timeoutSecs();
      callbacks[i] = job.callbackUrl();
      concurrencyKeys[i] = job.concurrencyKey();
    }
    return Tuple.of(ids, types, queues, users, requests, attempts, priorities, runAts, timeouts, callbacks,
        concurrencyKeys);
  }

  /**
   * Saves attempt $2's checkpoint $3 (JSON text) of job $1, fenced: answers a row only while that
   * attempt still holds the job.
   */
  public static final String SAVE_CHECKPOINT = """
      UPDATE jobs SET checkpoint = $3::text::jsonb, checkpoint_at = clock_timestamp()
      WHERE id = $1 AND attempts = $2 AND status = 'running'
      RETURNING id""";

  /** The recorded result of side effect $2 of job $1, if it was done. */
  public static final String SELECT_SIDE_EFFECT =
      "SELECT result::text AS result FROM job_side_effects WHERE job_id = $1 AND name = $2";

  /**
   * Records side effect $2 of job $1 with result $4 (JSON text), done by attempt $3, fenced: answers a
   * row only if that attempt still holds the job and nothing was recorded under the name yet.
   */
  public static final String RECORD_SIDE_EFFECT = """
      INSERT INTO job_side_effects (job_id, name, attempt, result)
      SELECT $1, $2, $3, $4::text::jsonb WHERE EXISTS (
        SELECT 1 FROM jobs WHERE id = $1 AND attempts = $3 AND status = 'running')
      ON CONFLICT (job_id, name) DO NOTHING
      RETURNING job_id""";

  /** The jobs with ids $1. */
  public static final String SELECT_MANY = "SELECT " + COLUMNS + " FROM jobs WHERE id = ANY($1::uuid[])";

  /** Pending jobs, all queues together (an index-only count on the pending index). */
  public static final String COUNT_PENDING = "SELECT count(*) FROM jobs WHERE status = 'pending'";

  /** Job $1 of user $2, with its latest webhook delivery as JSON text in column {@code webhook}. */
  public static final String SELECT_OWN = "SELECT " + COLUMNS + ", (" + WebhookSql.LATEST_OF_JOB + ") AS webhook"
      + " FROM jobs WHERE id = $1 AND user_id = $2";

  /**
   * The jobs with ids $1 (whoever owns them: the caller checks), each with its latest webhook delivery
   * as JSON text in column {@code webhook}: many reads of single jobs answered by one statement.
   */
  public static final String SELECT_MANY_WITH_WEBHOOK = "SELECT " + COLUMNS + ", (" + WebhookSql.LATEST_OF_JOB
      + ") AS webhook FROM jobs WHERE id = ANY($1::uuid[])";

  /**
   * The one place ownership is decided (design note 3): the picked jobs that are still claimable —
   * pending, due, not waiting behind their concurrency key (candidates are aliased {@code c}) — become
   * running for worker $2 with their next attempt number, locked with SKIP LOCKED so claims side by
   * side never wait on each other. {@code filterAndOrder} narrows and orders the candidates.
   */
  private static String claim(String filterAndOrder) {
    return """
        WITH claimable AS (
          SELECT id FROM jobs c WHERE %s AND run_at <= now() AND %s AND %s FOR UPDATE SKIP LOCKED)
        UPDATE jobs j SET status = 'running', attempts = attempts + 1, lease_owner = $2,
                          started_at = clock_timestamp(), finished_at = NULL, result = NULL, error = NULL
        FROM claimable WHERE j.id = claimable.id
        RETURNING %s""".formatted(JobStatus.RUNNING.sqlGuard("status"), notBlocked("c"), filterAndOrder,
        prefixed("j.", COLUMNS));
  }

  /**
   * Claims jobs $1 (read from a stream) for worker $2, locked in id order so concurrent claims never
   * deadlock. Returns the claimed jobs with their new attempt number.
   */
  public static final String CLAIM = claim("id = ANY($1::uuid[]) ORDER BY id");

  /** This run's attempts are used up (attempts started since submission or the last requeue). */
  private static final String EXHAUSTED = "j.attempts - j.attempts_base >= j.max_attempts";

  /** A failed attempt is retried if the job was not asked to cancel and has attempts left in this run. */
  private static final String RETRY = "(v.status = 'failed' AND NOT j.cancel_requested AND NOT " + EXHAUSTED + ")";

  /**
   * Ends many attempts in one statement. Each row names its job, the attempt it ends (the fence), the
   * outcome (completed, failed or cancelled), the result JSON or the error, and the backoff before a
   * retry. A failure with attempts left goes back to pending, due after its backoff; one without, or
   * of a job asked to cancel, ends. Returns, for the rows whose fence matched: id, status, queue,
   * priority, run_at.
   */
  public static final String FINISH_MANY = """
      UPDATE jobs j
      SET status = CASE WHEN %1$s THEN 'pending'
                        WHEN v.status = 'failed' AND j.cancel_requested THEN 'cancelled'
                        ELSE v.status END,
          run_at = CASE WHEN %1$s THEN now() + make_interval(secs => v.backoff_ms / 1000.0) ELSE j.run_at END,
          finished_at = CASE WHEN %1$s THEN NULL ELSE clock_timestamp() END,
          result = v.result::jsonb, error = v.error
      FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::text[], $6::int[])
        AS v(id, attempt, status, result, error, backoff_ms)
      WHERE j.id = v.id AND j.attempts = v.attempt AND %2$s
      RETURNING j.id, j.status, j.queue, j.priority, j.run_at, j.attempts, j.concurrency_key IS NOT NULL AS keyed"""
      .formatted(RETRY, JobStatus.COMPLETED.sqlGuard("j.status"));

  /**
   * A user's jobs (or only their dead letters: failed and not discarded), newest first, optionally filtered. Parameters: $1 user, then the status, type and
   * cursor (the last id of the previous page) that are asked for, in that order, then the row limit.
   */
  public static String listOwn(boolean byStatus, boolean byType, boolean afterCursor, boolean deadLettersOnly) {
    var sql = new StringBuilder("SELECT ").append(COLUMNS).append(" FROM jobs WHERE user_id = $1");
    if (deadLettersOnly) {
      sql.append(" AND status = 'failed' AND discarded_at IS NULL");
    }
    int n = 1;
    if (byStatus) {
      sql.append(" AND status = $").append(++n);
    }
    if (byType) {
      sql.append(" AND type = $").append(++n);
    }
    if (afterCursor) {
      sql.append(" AND id < $").append(++n);
    }
    return sql.append(" ORDER BY id DESC LIMIT $").append(++n).toString();
  }

  /**
   * Cancels job $1 of user $2: a pending job at once; a running one is flagged, and its worker ends
   * it. Returns the job, or nothing if it is unknown or no longer cancellable.
   */
  public static final String CANCEL = """
      UPDATE jobs SET status = CASE WHEN status = 'pending' THEN 'cancelled' ELSE status END,
                      finished_at = CASE WHEN status = 'pending' THEN clock_timestamp() ELSE finished_at END,
                      error = CASE WHEN status = 'pending' THEN 'cancelled' ELSE error END,
                      cancel_requested = (status = 'running')
      WHERE id = $1 AND user_id = $2 AND %s
      RETURNING %s""".formatted(JobStatus.CANCELLED.sqlGuard("status"), COLUMNS);

  /**
   * Puts dead-lettered job $1 of user $2 back to pending with a fresh run of max_attempts (attempts
   * itself never goes down: it is the fencing token). Returns the job, or nothing.
   */
  public static final String REQUEUE = """
      UPDATE jobs SET status = 'pending', attempts_base = attempts, run_at = now(), finished_at = NULL,
                      result = NULL, cancel_requested = false
      WHERE id = $1 AND user_id = $2 AND status = 'failed' AND discarded_at IS NULL
      RETURNING %s""".formatted(COLUMNS);

  /** Takes dead-lettered job $1 of user $2 out of the DLQ (it stays failed). Returns its id, or nothing. */
  public static final String DISCARD = """
      UPDATE jobs SET discarded_at = now()
      WHERE id = $1 AND user_id = $2 AND status = 'failed' AND discarded_at IS NULL
      RETURNING id""";

  /** The status of job $1 if it belongs to user $2, and whether it was discarded from the DLQ. */
  public static final String SELECT_OWN_STATUS =
      "SELECT status, discarded_at IS NOT NULL AS discarded FROM jobs WHERE id = $1 AND user_id = $2";

  /** Wakes the workers listening on channel $1 (Redis is down, so no stream signal went out). */
  public static final String WAKE = "SELECT pg_notify($1, '')";

  /** The LISTEN/NOTIFY channel of the Spool whose tables live in this schema. */
  public static String wakeChannel(SpoolConfig config) {
    return "spool_wake_" + config.pgSchema();
  }

  /**
   * Claims the next due jobs of queues $1 for worker $2, at most $3, highest priority first, straight
   * from Postgres: the Runs.next idea, used while Redis is down. SKIP LOCKED lets workers claim side
   * by side without waiting on each other.
   */
  public static final String CLAIM_NEXT = claim("queue = ANY($1::text[]) ORDER BY priority DESC, run_at, id LIMIT $3");

  /**
   * Pending jobs after id $1 (null: from the start), in id order, at most $2: what the reconciler
   * signals again after Redis lost its data. Returns id, queue, priority, run_at.
   */
  public static final String PENDING_PAGE = """
      SELECT id, queue, priority, run_at FROM jobs
      WHERE status = 'pending' AND ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2""";

  /**
   * Of the given jobs, those still pending and not waiting behind their concurrency key (the job
   * ahead of them signals them when it ends): id, queue, priority, and how many milliseconds until
   * they are due by Postgres's clock (0 if due).
   */
  public static final String SELECT_PENDING_AMONG = """
      SELECT id, queue, priority, greatest(0, ceil(extract(epoch FROM run_at - now()) * 1000))::bigint AS due_in_ms
      FROM jobs c WHERE id = ANY($1::uuid[]) AND status = 'pending' AND %s""".formatted(notBlocked("c"));

  /**
   * For jobs $1 that just left running or pending: the next job of each one's concurrency key that
   * may start now (earliest pending, nothing running), to be signalled. Never a job of $1 itself: one
   * that went back to pending is signalled by whoever put it back. Returns id, queue, priority, run_at.
   */
  public static final String NEXT_OF_KEYS = """
      SELECT DISTINCT ON (n.user_id, n.concurrency_key) n.id, n.queue, n.priority, n.run_at
      FROM jobs e JOIN jobs n ON n.user_id = e.user_id AND n.concurrency_key = e.concurrency_key
      WHERE e.id = ANY($1::uuid[]) AND e.concurrency_key IS NOT NULL AND n.id <> e.id AND n.status = 'pending' AND %s
      ORDER BY n.user_id, n.concurrency_key, n.id""".formatted(notBlocked("n"));

  /**
   * Holds a transaction-scoped advisory lock on $1 (user and concurrency key), so two submissions that
   * refuse a busy key cannot both find it free. A statement of its own before {@link #KEY_BUSY}: under
   * read committed, a check in the same statement would read a snapshot taken before the lock.
   */
  public static final String LOCK_CONCURRENCY_KEY = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))";

  /** Whether user $1 has a pending or running job with concurrency key $2. */
  public static final String KEY_BUSY = """
      SELECT EXISTS (SELECT 1 FROM jobs WHERE user_id = $1 AND concurrency_key = $2
                     AND status IN ('pending', 'running')) AS busy""";

  /**
   * A worker's heartbeat, which also registers it: $1 worker id, $2 its queues. Answers whether the
   * row was inserted: after the first beat that means a reaper had declared this worker dead.
   */
  public static final String HEARTBEAT = """
      INSERT INTO workers (id, queues) VALUES ($1, $2)
      ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()
      RETURNING (xmax = 0) AS inserted""";

  /**
   * What a lost attempt becomes: pending again; failed (dead-lettered) if it was the last; cancelled
   * if a cancellation was asked for.
   */
  private static final String LOSE_ATTEMPT = """
      status = CASE WHEN j.cancel_requested THEN 'cancelled'
                    WHEN %1$s THEN 'failed'
                    ELSE 'pending' END,
      finished_at = CASE WHEN j.cancel_requested OR %1$s THEN clock_timestamp() END,
      lease_owner = NULL, run_at = now(),
      error = 'attempt ' || j.attempts || ' lost: worker ' || coalesce(j.lease_owner, '?') || ' stopped heartbeating'"""
      .formatted(EXHAUSTED);

  /**
   * Forgets the workers silent for longer than $1 seconds and, in the same statement, returns their
   * running jobs to pending (or dead-letters them if that was their last attempt, so a job that kills
   * its worker cannot loop forever). Rows: kind 'job' (id, queue, status, priority) or 'worker' (id). Safe in
   * every worker at once: a dead worker's row is deleted by one of them, and only that one reaps.
   */
  public static final String REAP = """
      WITH dead AS (DELETE FROM workers WHERE heartbeat_at < now() - make_interval(secs => $1) RETURNING id),
      lost AS (
        UPDATE jobs j SET %s
        FROM dead WHERE j.lease_owner = dead.id AND j.status = 'running'
        RETURNING j.id, j.queue, j.status, j.priority, j.attempts)
      SELECT 'job' AS kind, id::text AS id, queue, status, priority, attempts FROM lost
      UNION ALL SELECT 'worker', id, NULL, NULL, NULL, NULL FROM dead""".formatted(LOSE_ATTEMPT);

  /**
   * The slow safety net behind {@link #REAP}: running jobs whose owner has no fresh heartbeat row at
   * all (say, a worker that died just after being declared dead). Returns id, queue, status,
   * priority.
   */
  public static final String REAP_ORPHANS = """
      UPDATE jobs j SET %s
      WHERE j.status = 'running'
        AND NOT EXISTS (SELECT 1 FROM workers w
                        WHERE w.id = j.lease_owner AND w.heartbeat_at > now() - make_interval(secs => $1))
      RETURNING j.id, j.queue, j.status, j.priority, j.attempts""".formatted(LOSE_ATTEMPT);

  /** A stopping worker ($1) hands its running jobs back at once, not waiting for the reaper. */
  public static final String HAND_BACK = """
      UPDATE jobs SET status = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'pending' END,
                      finished_at = CASE WHEN cancel_requested THEN clock_timestamp() END,
                      lease_owner = NULL, run_at = now()
      WHERE lease_owner = $1 AND status = 'running'
      RETURNING id, queue, priority, status, attempts""";

  /** The running jobs of worker $1 that someone asked to cancel. */
  public static final String CANCEL_REQUESTED =
      "SELECT id FROM jobs WHERE lease_owner = $1 AND status = 'running' AND cancel_requested";

  /** The attempts worker $1 still holds: id, attempts of its running jobs. */
  public static final String HELD_LEASES = "SELECT id, attempts FROM jobs WHERE lease_owner = $1 AND status = 'running'";

  public static final String DELETE_WORKER = "DELETE FROM workers WHERE id = $1";

  public static final String REGISTER_TYPES = """
      INSERT INTO job_types (type) SELECT unnest($1::text[])
      ON CONFLICT (type) DO UPDATE SET seen_at = now()""";

  public static final String SELECT_TYPES = "SELECT type FROM job_types";

  static {
    // FINISH_MANY guards completed, failed, cancelled and retries alike as 'running'; REAP and
    // HAND_BACK and REQUEUE write literal guards. Keep
    // them honest if the table changes.
    if (!JobStatus.COMPLETED.allowedFrom().equals(JobStatus.FAILED.allowedFrom())
        || !JobStatus.COMPLETED.allowedFrom().equals(java.util.EnumSet.of(JobStatus.RUNNING))
        || !JobStatus.RUNNING.canChangeTo(JobStatus.PENDING) || !JobStatus.RUNNING.canChangeTo(JobStatus.CANCELLED)
        || !JobStatus.FAILED.canChangeTo(JobStatus.PENDING)) {
      throw new IllegalStateException("JobSql's status guards no longer match JobStatus's table");
    }
  }

  private JobSql() {}

  /** The column list with each column qualified, for statements that join. */
  private static String prefixed(String alias, String columns) {
    return java.util.Arrays.stream(columns.split(", ")).map(c -> alias + c).collect(java.util.stream.Collectors.joining(", "));
  }

  /** Maps a row selected with {@link #COLUMNS}. */
  public static Job toJob(Row row) {
    return new Job(
        row.getUUID("id"),
        row.getString("type"),
        row.getString("queue"),
        row.getString("user_id"),
        JobJson.tree(row.getString("request")),
        JobStatus.parse(row.getString("status")),
        JobJson.tree(row.getString("result")),
        row.getString("error"),
        row.getInteger("attempts"),
        row.getInteger("max_attempts"),
        instant(row.getOffsetDateTime("submitted_at")),
        instant(row.getOffsetDateTime("started_at")),
        instant(row.getOffsetDateTime("finished_at")),
        row.getInteger("priority"),
        instant(row.getOffsetDateTime("run_at")),
        row.getInteger("timeout_secs"),
        row.getBoolean("cancel_requested"),
        row.getString("callback_url"),
        JobJson.tree(row.getString("checkpoint")),
        row.getString("concurrency_key"),
        row.getColumnIndex("webhook") < 0 ? null : JobJson.tree(row.getString("webhook")));
  }

  private static java.time.Instant instant(OffsetDateTime time) {
    return time == null ? null : time.toInstant();
  }
}
