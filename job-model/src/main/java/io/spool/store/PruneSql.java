package io.spool.store;

/**
 * What the workers' pruner runs: deletes of jobs past their retention, in bounded batches, each
 * batch one statement (its own transaction). A job goes with everything that belongs to it, by the
 * foreign keys' {@code ON DELETE CASCADE}: its webhook deliveries, side-effect records and
 * idempotency key (its checkpoint is a column of the job). Only jobs that have ended are touched,
 * and none with a webhook delivery still pending.
 *
 * <p>Each statement first tries a transaction-scoped advisory lock named by {@code #{lock}} (one
 * per schema): while one worker's batch runs, another's finds the lock taken and deletes nothing,
 * so however many workers run the pruner, one batch runs at a time.
 */
public final class PruneSql {
  /** Jobs without a retention of their own: those that ended as {@code #{status}}. */
  public static final String BY_STATUS =
      prune(
          """
          j.status = #{status} AND j.finished_at IS NOT NULL AND j.retention_secs IS NULL
            AND j.finished_at < now() - #{secs}::int * interval '1 second'""",
          "j.finished_at");

  /** Jobs whose submission gave a retention of their own ({@code prune_after} set at their end). */
  public static final String OWN_RETENTION =
      prune(
          "j.prune_after < now() AND j.status IN ('completed', 'failed', 'cancelled')",
          "j.prune_after");

  /**
   * The delete both kinds share: under the turn's lock, up to {@code #{limit}} jobs matching {@code
   * due}, oldest by {@code order} first, none with a webhook delivery pending.
   */
  private static String prune(String due, String order) {
    return """
        WITH turn AS MATERIALIZED (SELECT pg_try_advisory_xact_lock(hashtextextended(#{lock}, 0)) AS mine)
        DELETE FROM jobs
        WHERE (SELECT mine FROM turn) AND id = ANY(ARRAY(
          SELECT j.id FROM jobs j
          WHERE %s
            AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.job_id = j.id AND d.state = 'pending')
          ORDER BY %s
          LIMIT #{limit}
          FOR UPDATE SKIP LOCKED))
        RETURNING status"""
        .formatted(due, order);
  }

  private PruneSql() {}

  /** The advisory lock's name for the Spool in {@code schema}. */
  public static String lockName(String schema) {
    return "spool.prune " + schema;
  }
}
