package io.spool.model;

import io.vertx.sqlclient.Row;
import java.time.OffsetDateTime;

/**
 * The SQL both sides run against the {@code jobs} table. Status guards come from {@link JobStatus}'s
 * transition table; every worker write is fenced by {@code (id, attempts)} (design note 3).
 */
public final class JobSql {
  /** The columns of a {@link Job}, JSON columns as text for Jackson. */
  public static final String COLUMNS = "id, type, queue, user_id, request::text AS request, status, "
      + "result::text AS result, error, attempts, max_attempts, submitted_at, started_at, finished_at";

  /** Many new jobs in one statement (one commit): parallel arrays, one element per job. */
  public static final String INSERT_MANY = """
      INSERT INTO jobs (id, type, queue, user_id, request, status, max_attempts)
      SELECT u.id, u.type, u.queue, u.user_id, u.request::jsonb, 'pending', u.max_attempts
      FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[])
        AS u(id, type, queue, user_id, request, max_attempts)
      RETURNING id, submitted_at""";

  public static final String SELECT_OWN = "SELECT " + COLUMNS + " FROM jobs WHERE id = $1 AND user_id = $2";

  /**
   * Takes ownership of the given jobs that are still claimable: the one place ownership is decided.
   * Rows are locked in id order, skipping any another claim holds, so concurrent claims never deadlock.
   * $1 ids, $2 the claiming worker's id. Returns the claimed jobs with their new attempt number.
   */
  public static final String CLAIM = """
      WITH claimable AS (
        SELECT id FROM jobs WHERE id = ANY($1::uuid[]) AND %s AND run_at <= now()
        ORDER BY id FOR UPDATE SKIP LOCKED)
      UPDATE jobs j SET status = 'running', attempts = attempts + 1, lease_owner = $2,
                        started_at = clock_timestamp(), finished_at = NULL, result = NULL, error = NULL
      FROM claimable c WHERE j.id = c.id
      RETURNING %s""".formatted(JobStatus.RUNNING.sqlGuard("status"), prefixed("j.", COLUMNS));

  /**
   * Ends many attempts in one statement. Each row names its job, the attempt it ends (the fence), the
   * new status, and the result JSON or the error. Returns the ids whose fence matched.
   */
  public static final String FINISH_MANY = """
      UPDATE jobs j SET status = v.status, result = v.result::jsonb, error = v.error,
                        finished_at = clock_timestamp()
      FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::text[]) AS v(id, attempt, status, result, error)
      WHERE j.id = v.id AND j.attempts = v.attempt AND %s
      RETURNING j.id""".formatted(JobStatus.COMPLETED.sqlGuard("j.status"));

  /**
   * A user's jobs, newest first, optionally filtered. Parameters: $1 user, then the status, type and
   * cursor (the last id of the previous page) that are asked for, in that order, then the row limit.
   */
  public static String listOwn(boolean byStatus, boolean byType, boolean afterCursor) {
    var sql = new StringBuilder("SELECT ").append(COLUMNS).append(" FROM jobs WHERE user_id = $1");
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

  /** A worker's heartbeat, which also registers it: $1 worker id, $2 its queues. */
  public static final String HEARTBEAT = """
      INSERT INTO workers (id, queues) VALUES ($1, $2)
      ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()""";

  /** What a lost attempt becomes: pending again, or failed (dead-lettered) if it was the last. */
  private static final String LOSE_ATTEMPT = """
      status = CASE WHEN j.attempts >= j.max_attempts THEN 'failed' ELSE 'pending' END,
      finished_at = CASE WHEN j.attempts >= j.max_attempts THEN clock_timestamp() END,
      lease_owner = NULL, run_at = now(),
      error = 'attempt ' || j.attempts || ' lost: worker ' || coalesce(j.lease_owner, '?') || ' stopped heartbeating'""";

  /**
   * Forgets the workers silent for longer than $1 seconds and, in the same statement, returns their
   * running jobs to pending (or dead-letters them if that was their last attempt, so a job that kills
   * its worker cannot loop forever). Rows: kind 'job' (id, queue, status) or 'worker' (id). Safe in
   * every worker at once: a dead worker's row is deleted by one of them, and only that one reaps.
   */
  public static final String REAP = """
      WITH dead AS (DELETE FROM workers WHERE heartbeat_at < now() - make_interval(secs => $1) RETURNING id),
      lost AS (
        UPDATE jobs j SET %s
        FROM dead WHERE j.lease_owner = dead.id AND j.status = 'running'
        RETURNING j.id, j.queue, j.status)
      SELECT 'job' AS kind, id::text AS id, queue, status FROM lost
      UNION ALL SELECT 'worker', id, NULL, NULL FROM dead""".formatted(LOSE_ATTEMPT);

  /**
   * The slow safety net behind {@link #REAP}: running jobs whose owner has no fresh heartbeat row at
   * all (say, a worker that died just after being declared dead). Returns id, queue, status.
   */
  public static final String REAP_ORPHANS = """
      UPDATE jobs j SET %s
      WHERE j.status = 'running'
        AND NOT EXISTS (SELECT 1 FROM workers w
                        WHERE w.id = j.lease_owner AND w.heartbeat_at > now() - make_interval(secs => $1))
      RETURNING j.id, j.queue, j.status""".formatted(LOSE_ATTEMPT);

  /** A stopping worker ($1) hands its running jobs back at once, not waiting for the reaper. */
  public static final String HAND_BACK = """
      UPDATE jobs SET status = 'pending', lease_owner = NULL, run_at = now()
      WHERE lease_owner = $1 AND status = 'running'
      RETURNING id, queue""";

  public static final String DELETE_WORKER = "DELETE FROM workers WHERE id = $1";

  public static final String REGISTER_TYPES = """
      INSERT INTO job_types (type) SELECT unnest($1::text[])
      ON CONFLICT (type) DO UPDATE SET seen_at = now()""";

  public static final String SELECT_TYPES = "SELECT type FROM job_types";

  static {
    // FINISH_MANY guards completed and failed alike; REAP and HAND_BACK write literal guards. Keep
    // them honest if the table changes.
    if (!JobStatus.COMPLETED.allowedFrom().equals(JobStatus.FAILED.allowedFrom())
        || !JobStatus.RUNNING.canChangeTo(JobStatus.PENDING) || !JobStatus.RUNNING.canChangeTo(JobStatus.FAILED)) {
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
        instant(row.getOffsetDateTime("finished_at")));
  }

  private static java.time.Instant instant(OffsetDateTime time) {
    return time == null ? null : time.toInstant();
  }
}
