package io.spool.store;

import io.spool.model.JobStatus;
import java.util.EnumSet;

/**
 * What a running attempt writes, each write fenced by {@code (id, attempts)} (design note 3 in docs/architecture.md): its
 * checkpoints, its side-effect records and its end.
 */
public final class AttemptSql {
  /** This run's attempts are used up (attempts started since submission or the last requeue). */
  static final String EXHAUSTED = "j.attempts - j.attempts_base >= j.max_attempts";

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

  static {
    // FINISH_MANY guards completed, failed, cancelled and retries alike as 'running'; LeaseSql's REAP
    // and HAND_BACK and UserJobSql's REQUEUE write literal guards. Keep them honest if the table changes.
    if (!JobStatus.COMPLETED.allowedFrom().equals(JobStatus.FAILED.allowedFrom())
        || !JobStatus.COMPLETED.allowedFrom().equals(EnumSet.of(JobStatus.RUNNING))
        || !JobStatus.RUNNING.canChangeTo(JobStatus.PENDING) || !JobStatus.RUNNING.canChangeTo(JobStatus.CANCELLED)
        || !JobStatus.FAILED.canChangeTo(JobStatus.PENDING)) {
      throw new IllegalStateException("AttemptSql's status guards no longer match JobStatus's table");
    }
  }

  private AttemptSql() {}
}
