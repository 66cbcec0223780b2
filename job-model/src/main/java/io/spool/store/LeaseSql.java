package io.spool.store;

/**
 * What happens to leases that their worker no longer keeps (design note 4 in docs/architecture.md):
 * reaping silent workers' jobs, handing jobs back at shutdown, and the lookups a worker makes about
 * the jobs it holds.
 *
 * <p>A lost attempt becomes: cancelled if a cancellation was asked for; failed (dead-lettered) if
 * it was the last of this run ({@code attempts - attempts_base >= max_attempts}), so a job that
 * kills its worker cannot loop forever; otherwise pending again, due at once. Both reaping
 * statements write that rule out.
 */
public final class LeaseSql {
  /**
   * Forgets the workers silent for longer than {@code secs} seconds and, in the same statement,
   * returns their running jobs as a lost attempt. Rows: kind 'job' (id, queue, type, status,
   * priority, attempts) or 'worker' (id, and the queues and types whose streams it read). Safe in
   * every worker at once: a dead worker's row is deleted by one of them, and only that one reaps.
   */
  public static final String REAP =
      """
      WITH dead AS (
        DELETE FROM workers WHERE heartbeat_at < now() - make_interval(secs => #{secs})
        RETURNING id, queues, types),
      lost AS (
        UPDATE jobs j
        SET status = CASE WHEN j.cancel_requested THEN 'cancelled'
                          WHEN j.attempts - j.attempts_base >= j.max_attempts THEN 'failed'
                          ELSE 'pending' END,
            finished_at = CASE WHEN j.cancel_requested OR j.attempts - j.attempts_base >= j.max_attempts
                               THEN clock_timestamp() END,
            lease_owner = NULL, run_at = now(),
            error = 'attempt ' || j.attempts || ' lost: worker ' || coalesce(j.lease_owner, '?')
                    || ' stopped heartbeating'
        FROM dead WHERE j.lease_owner = dead.id AND j.status = 'running'
        RETURNING j.id, j.queue, j.type, j.status, j.priority, j.attempts)
      SELECT 'job' AS kind, id::text AS id, queue, type, status, priority, attempts,
             NULL::text[] AS queues, NULL::text[] AS types FROM lost
      UNION ALL SELECT 'worker', id, NULL, NULL, NULL, NULL, NULL, queues, types FROM dead""";

  /**
   * The slow safety net behind {@link #REAP}: running jobs whose owner has no heartbeat row fresher
   * than {@code secs} seconds at all (say, a worker that died just after being declared dead), as a
   * lost attempt. Returns id, queue, type, status, priority, attempts.
   */
  public static final String REAP_ORPHANS =
      """
      UPDATE jobs j
      SET status = CASE WHEN j.cancel_requested THEN 'cancelled'
                        WHEN j.attempts - j.attempts_base >= j.max_attempts THEN 'failed'
                        ELSE 'pending' END,
          finished_at = CASE WHEN j.cancel_requested OR j.attempts - j.attempts_base >= j.max_attempts
                             THEN clock_timestamp() END,
          lease_owner = NULL, run_at = now(),
          error = 'attempt ' || j.attempts || ' lost: worker ' || coalesce(j.lease_owner, '?')
                  || ' stopped heartbeating'
      WHERE j.status = 'running'
        AND NOT EXISTS (SELECT 1 FROM workers w
                        WHERE w.id = j.lease_owner AND w.heartbeat_at > now() - make_interval(secs => #{secs}))
      RETURNING j.id, j.queue, j.type, j.status, j.priority, j.attempts""";

  /**
   * A stopping worker hands its running jobs back at once, not waiting for the reaper: pending
   * again (the attempt was not the job's fault), or cancelled if that was asked for. Returns id,
   * queue, type, priority, status, attempts.
   */
  public static final String HAND_BACK =
      """
      UPDATE jobs SET status = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'pending' END,
                      finished_at = CASE WHEN cancel_requested THEN clock_timestamp() END,
                      lease_owner = NULL, run_at = now()
      WHERE lease_owner = #{worker} AND status = 'running'
      RETURNING id, queue, type, priority, status, attempts""";

  /**
   * Hands back jobs {@code ids} of remote worker {@code worker} that it no longer reports running
   * (a claim whose answer never reached it), as {@link #HAND_BACK} does. Returns id, queue, type,
   * priority, status, attempts.
   */
  public static final String HAND_BACK_JOBS =
      """
      UPDATE jobs SET status = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'pending' END,
                      finished_at = CASE WHEN cancel_requested THEN clock_timestamp() END,
                      lease_owner = NULL, run_at = now()
      WHERE id = ANY(#{ids}::uuid[]) AND lease_owner = #{worker} AND status = 'running'
      RETURNING id, queue, type, priority, status, attempts""";

  /** The running jobs of {@code worker} that someone asked to cancel. */
  public static final String CANCEL_REQUESTED =
      "SELECT id FROM jobs WHERE lease_owner = #{worker} AND status = 'running' AND cancel_requested";

  /** The attempts {@code worker} still holds: id, attempts of its running jobs. */
  public static final String HELD_LEASES =
      "SELECT id, attempts FROM jobs WHERE lease_owner = #{worker} AND status = 'running'";

  private LeaseSql() {}
}
