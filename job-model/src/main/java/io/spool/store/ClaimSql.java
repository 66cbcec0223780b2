package io.spool.store;

import io.spool.config.SpoolConfig;

/**
 * How pending jobs become running (design note 3 in docs/architecture.md): the fenced claim, the
 * Postgres-only claim used while Redis is down, and the reads that decide which pending jobs to
 * signal. Statements take named parameters ({@code #{name}}, run through {@code SqlTemplate}).
 *
 * <p>A pending job may start only if it is due and not waiting behind its concurrency key: it has
 * no key, or no other job of its user with that key is running or pending from earlier (submission
 * order is id order). That rule is written out in each statement below that needs it.
 */
public final class ClaimSql {
  /**
   * The one place ownership is decided: those of jobs {@code ids} (read from a stream) that are
   * still claimable and of the job {@code types} the worker serves become running for {@code
   * worker} with their next attempt number — if {@code worker} is registered: a worker declared
   * dead (or a remote one that left while its claim waited) claims nothing. Locked in id order so
   * claims side by side never deadlock, with SKIP LOCKED so they never wait on each other. Returns
   * the claimed jobs ({@link JobRows#COLUMNS}) with their new attempt number.
   */
  public static final String CLAIM =
      """
      WITH claimable AS (
        SELECT c.id AS claimed_id FROM jobs c
        WHERE c.id = ANY(#{ids}::uuid[]) AND c.status = 'pending' AND c.run_at <= now()
          AND c.type = ANY(#{types}::text[])
          AND EXISTS (SELECT 1 FROM workers w WHERE w.id = #{worker})
          AND (c.concurrency_key IS NULL OR NOT EXISTS (
                SELECT 1 FROM jobs o
                WHERE o.user_id = c.user_id AND o.concurrency_key = c.concurrency_key AND o.id <> c.id
                  AND (o.status = 'running' OR (o.status = 'pending' AND o.id < c.id))))
        ORDER BY c.id
        FOR UPDATE SKIP LOCKED)
      UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = #{worker},
                      started_at = clock_timestamp(), finished_at = NULL, result = NULL, error = NULL
      FROM claimable WHERE jobs.id = claimable.claimed_id
      RETURNING\s"""
          + JobRows.COLUMNS;

  /**
   * Claims the next due jobs of {@code queues} and {@code types} for {@code worker}, at most {@code
   * max}, highest priority first, straight from Postgres: the Runs.next idea, used while Redis is
   * down (design note 5 in docs/architecture.md). The same rule and locking as {@link #CLAIM}.
   */
  public static final String CLAIM_NEXT =
      """
      WITH claimable AS (
        SELECT c.id AS claimed_id FROM jobs c
        WHERE c.queue = ANY(#{queues}::text[]) AND c.type = ANY(#{types}::text[])
          AND c.status = 'pending' AND c.run_at <= now()
          AND EXISTS (SELECT 1 FROM workers w WHERE w.id = #{worker})
          AND (c.concurrency_key IS NULL OR NOT EXISTS (
                SELECT 1 FROM jobs o
                WHERE o.user_id = c.user_id AND o.concurrency_key = c.concurrency_key AND o.id <> c.id
                  AND (o.status = 'running' OR (o.status = 'pending' AND o.id < c.id))))
        ORDER BY c.priority DESC, c.run_at, c.id
        LIMIT #{max}
        FOR UPDATE SKIP LOCKED)
      UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = #{worker},
                      started_at = clock_timestamp(), finished_at = NULL, result = NULL, error = NULL
      FROM claimable WHERE jobs.id = claimable.claimed_id
      RETURNING\s"""
          + JobRows.COLUMNS;

  /**
   * Of jobs {@code ids}, those still pending and not waiting behind their concurrency key (the job
   * ahead of them signals them when it ends): id, queue, type, priority, and how many milliseconds
   * until they are due by Postgres's clock (0 if due).
   */
  public static final String SELECT_PENDING_AMONG =
      """
      SELECT c.id, c.queue, c.type, c.priority,
             greatest(0, ceil(extract(epoch FROM c.run_at - now()) * 1000))::bigint AS due_in_ms
      FROM jobs c
      WHERE c.id = ANY(#{ids}::uuid[]) AND c.status = 'pending'
        AND (c.concurrency_key IS NULL OR NOT EXISTS (
              SELECT 1 FROM jobs o
              WHERE o.user_id = c.user_id AND o.concurrency_key = c.concurrency_key AND o.id <> c.id
                AND (o.status = 'running' OR (o.status = 'pending' AND o.id < c.id))))""";

  /**
   * For jobs {@code ids} that just left running or pending: the next job of each one's concurrency
   * key that may start now (earliest pending, nothing running), to be signalled. Never the job
   * itself: one that went back to pending is signalled by whoever put it back. Returns id, queue,
   * type, priority, run_at.
   */
  public static final String NEXT_OF_KEYS =
      """
      SELECT DISTINCT ON (n.user_id, n.concurrency_key) n.id, n.queue, n.type, n.priority, n.run_at
      FROM jobs e JOIN jobs n ON n.user_id = e.user_id AND n.concurrency_key = e.concurrency_key
      WHERE e.id = ANY(#{ids}::uuid[]) AND e.concurrency_key IS NOT NULL AND n.id <> e.id
        AND n.status = 'pending'
        AND NOT EXISTS (
              SELECT 1 FROM jobs o
              WHERE o.user_id = n.user_id AND o.concurrency_key = n.concurrency_key AND o.id <> n.id
                AND (o.status = 'running' OR (o.status = 'pending' AND o.id < n.id)))
      ORDER BY n.user_id, n.concurrency_key, n.id""";

  /**
   * Pending jobs of {@code queues} after id {@code after} (null: from the start), in id order, at
   * most {@code max}: what the reconciler signals again after Redis lost its data. Returns id,
   * queue, type, priority, run_at.
   */
  public static final String PENDING_PAGE =
      """
      SELECT id, queue, type, priority, run_at FROM jobs
      WHERE status = 'pending' AND queue = ANY(#{queues})
        AND (#{after}::uuid IS NULL OR id > #{after}::uuid)
      ORDER BY id LIMIT #{max}""";

  /**
   * Wakes the workers listening on {@code channel} (Redis is down, so no stream signal went out).
   */
  public static final String WAKE = "SELECT pg_notify(#{channel}, '')";

  private ClaimSql() {}

  /** The LISTEN/NOTIFY channel of the Spool whose tables live in this schema. */
  public static String wakeChannel(SpoolConfig config) {
    return "spool_wake_" + config.pg().schema();
  }
}
