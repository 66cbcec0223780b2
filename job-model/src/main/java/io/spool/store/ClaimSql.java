package io.spool.store;

import io.spool.config.SpoolConfig;
import io.spool.model.JobStatus;

/**
 * How pending jobs become running (design note 3 in docs/architecture.md): the fenced claim, the Postgres-only claim used
 * while Redis is down, and the reads that decide which pending jobs to signal.
 */
public final class ClaimSql {
  /**
   * A pending job {@code alias} may start: it has no concurrency key, or no job of its user with the
   * same key is running or pending from earlier (submission order is id order).
   */
  static String notBlocked(String alias) {
    return "(%1$s.concurrency_key IS NULL OR NOT EXISTS (SELECT 1 FROM jobs o WHERE o.user_id = %1$s.user_id"
        .formatted(alias) + " AND o.concurrency_key = %1$s.concurrency_key AND o.id <> %1$s.id".formatted(alias)
        + " AND (o.status = 'running' OR (o.status = 'pending' AND o.id < %1$s.id))))".formatted(alias);
  }

  /**
   * The one place ownership is decided (design note 3 in docs/architecture.md): the picked jobs that are still claimable —
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
        JobRows.prefixed("j.", JobRows.COLUMNS));
  }

  /**
   * Claims jobs $1 (read from a stream) for worker $2, locked in id order so concurrent claims never
   * deadlock. Returns the claimed jobs with their new attempt number.
   */
  public static final String CLAIM = claim("id = ANY($1::uuid[]) ORDER BY id");

  /**
   * Claims the next due jobs of queues $1 for worker $2, at most $3, highest priority first, straight
   * from Postgres: the Runs.next idea, used while Redis is down. SKIP LOCKED lets workers claim side
   * by side without waiting on each other.
   */
  public static final String CLAIM_NEXT = claim("queue = ANY($1::text[]) ORDER BY priority DESC, run_at, id LIMIT $3");

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
   * Pending jobs after id $1 (null: from the start), in id order, at most $2: what the reconciler
   * signals again after Redis lost its data. Returns id, queue, priority, run_at.
   */
  public static final String PENDING_PAGE = """
      SELECT id, queue, priority, run_at FROM jobs
      WHERE status = 'pending' AND ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2""";

  /** Wakes the workers listening on channel $1 (Redis is down, so no stream signal went out). */
  public static final String WAKE = "SELECT pg_notify($1, '')";

  private ClaimSql() {}

  /** The LISTEN/NOTIFY channel of the Spool whose tables live in this schema. */
  public static String wakeChannel(SpoolConfig config) {
    return "spool_wake_" + config.pgSchema();
  }
}
