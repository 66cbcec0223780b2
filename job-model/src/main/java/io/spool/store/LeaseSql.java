package io.spool.store;

/**
 * What happens to leases that their worker no longer keeps: reaping silent workers' jobs, handing
 * jobs back at shutdown, and the lookups a worker makes about the jobs it holds.
 */
public final class LeaseSql {
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
      .formatted(AttemptSql.EXHAUSTED);

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

  private LeaseSql() {}
}
