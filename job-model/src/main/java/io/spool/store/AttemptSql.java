package io.spool.store;

import io.spool.model.JobStatus;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * What a running attempt writes, each write fenced by {@code (id, attempts)} (design note 3 in
 * docs/architecture.md): its checkpoints, its side-effect records and its end.
 */
public final class AttemptSql {
  /**
   * Ends many attempts in one statement. Each element of the parallel arrays names its job, the
   * attempt it ends (the fence), the outcome ({@code completed}, {@code failed} or {@code
   * cancelled}), the result JSON or the error, and the backoff before a retry. A failure is retried
   * — back to pending, due after its backoff — if the job was not asked to cancel and has attempts
   * left in this run (attempts started since submission or the last requeue: {@code attempts -
   * attempts_base}); a failure of a job asked to cancel ends it cancelled; anything else ends as
   * its outcome says. The retry rule is written out in each of the three {@code CASE}s it decides.
   * Returns, for the rows whose fence matched: id, status, queue, type, priority, run_at, attempts,
   * keyed.
   */
  public static final String FINISH_MANY =
      """
      UPDATE jobs j
      SET status = CASE WHEN v.status = 'failed' AND v.retry AND NOT j.cancel_requested
                             AND j.attempts - j.attempts_base < j.max_attempts THEN 'pending'
                        WHEN v.status = 'failed' AND j.cancel_requested THEN 'cancelled'
                        ELSE v.status END,
          run_at = CASE WHEN v.status = 'failed' AND v.retry AND NOT j.cancel_requested
                             AND j.attempts - j.attempts_base < j.max_attempts
                        THEN now() + make_interval(secs => v.backoff_ms / 1000.0)
                        ELSE j.run_at END,
          finished_at = CASE WHEN v.status = 'failed' AND v.retry AND NOT j.cancel_requested
                                  AND j.attempts - j.attempts_base < j.max_attempts THEN NULL
                             ELSE clock_timestamp() END,
          result = v.result::jsonb, error = v.error
      FROM unnest(#{ids}::uuid[], #{attempts}::int[], #{statuses}::text[], #{results}::text[],
                  #{errors}::text[], #{backoffs}::bigint[], #{retries}::boolean[])
           AS v(id, attempt, status, result, error, backoff_ms, retry)
      WHERE j.id = v.id AND j.attempts = v.attempt AND j.status = 'running'
      RETURNING j.id, j.status, j.queue, j.type, j.priority, j.run_at, j.attempts,
                j.concurrency_key IS NOT NULL AS keyed, j.cancel_requested, j.started_at""";

  /**
   * Saves checkpoint {@code checkpoint} (JSON text) of job {@code id}, fenced: answers a row only
   * while attempt {@code attempt} still holds the job.
   */
  public static final String SAVE_CHECKPOINT =
      """
      UPDATE jobs SET checkpoint = #{checkpoint}::text::jsonb, checkpoint_at = clock_timestamp()
      WHERE id = #{id} AND attempts = #{attempt} AND status = 'running'
      RETURNING id, cancel_requested""";

  /**
   * Whether attempt {@code attempt} still holds job {@code id}: a row with its {@code
   * cancel_requested} if it does, none if not. The fence of a remote worker's event appends.
   */
  public static final String CURRENT_ATTEMPT =
      """
      SELECT cancel_requested FROM jobs
      WHERE id = #{id} AND attempts = #{attempt} AND status = 'running'""";

  /**
   * How job {@code id} stands, for an answer to a finish whose fence matched nothing: its status,
   * attempt and error (a repeat of a finish that was written, or a lost attempt).
   */
  public static final String ATTEMPT_STATE =
      "SELECT id, status, attempts, error FROM jobs WHERE id = ANY(#{ids}::uuid[])";

  /**
   * Side effect {@code name} of job {@code id} as seen by attempt {@code attempt}, fenced: no row
   * if the attempt no longer holds the job; else its {@code cancel_requested}, and the recorded
   * {@code result} and {@code recorded_by} attempt ({@code found} false if none is recorded).
   */
  public static final String SIDE_EFFECT_FOR_ATTEMPT =
      """
      SELECT j.cancel_requested, e.job_id IS NOT NULL AS found, e.result::text AS result,
             e.attempt AS recorded_by
      FROM jobs j LEFT JOIN job_side_effects e ON e.job_id = j.id AND e.name = #{name}
      WHERE j.id = #{id} AND j.attempts = #{attempt} AND j.status = 'running'""";

  /**
   * Records side effect {@code name} of job {@code id} with {@code result} (JSON text) by attempt
   * {@code attempt}, once, fenced, and answers in one row what came of it: no row if the attempt no
   * longer holds the job; else its {@code cancel_requested}, {@code inserted} (recorded now), and
   * otherwise the first record's {@code first_result} and {@code first_attempt} (null only if a
   * record made at the same moment is not visible yet: ask again).
   */
  public static final String RECORD_SIDE_EFFECT_ONCE =
      """
      WITH cur AS (
        SELECT cancel_requested FROM jobs
        WHERE id = #{id} AND attempts = #{attempt} AND status = 'running'),
      ins AS (
        INSERT INTO job_side_effects (job_id, name, attempt, result)
        SELECT #{id}, #{name}, #{attempt}, #{result}::text::jsonb FROM cur
        ON CONFLICT (job_id, name) DO NOTHING
        RETURNING attempt)
      SELECT cur.cancel_requested, EXISTS (SELECT 1 FROM ins) AS inserted,
             e.result::text AS first_result, e.attempt AS first_attempt
      FROM cur LEFT JOIN job_side_effects e ON e.job_id = #{id} AND e.name = #{name}""";

  /** Every recorded side effect of jobs {@code ids}: job_id, name, result (JSON text). */
  public static final String SIDE_EFFECTS_OF =
      "SELECT job_id, name, result::text AS result FROM job_side_effects WHERE job_id = ANY(#{ids}::uuid[])";

  /** The recorded result of side effect {@code name} of job {@code id}, if it was done. */
  public static final String SELECT_SIDE_EFFECT =
      "SELECT result::text AS result FROM job_side_effects WHERE job_id = #{id} AND name = #{name}";

  /**
   * Records side effect {@code name} of job {@code id} with {@code result} (JSON text), done by
   * {@code attempt}, fenced: answers a row only if that attempt still holds the job and nothing was
   * recorded under the name yet.
   */
  public static final String RECORD_SIDE_EFFECT =
      """
      INSERT INTO job_side_effects (job_id, name, attempt, result)
      SELECT #{id}, #{name}, #{attempt}, #{result}::text::jsonb WHERE EXISTS (
        SELECT 1 FROM jobs WHERE id = #{id} AND attempts = #{attempt} AND status = 'running')
      ON CONFLICT (job_id, name) DO NOTHING
      RETURNING job_id""";

  private AttemptSql() {}

  /**
   * One attempt's end, a row of {@link #FINISH_MANY}: the job, the attempt that ends (the fence),
   * the outcome (completed, failed or cancelled), the result as JSON text or the error, the backoff
   * a retry waits, and whether a failure may be retried at all.
   */
  public record Ending(
      UUID id,
      int attempt,
      JobStatus status,
      String resultJson,
      String error,
      long backoffMillis,
      boolean retry) {}

  /** The named parameters of {@link #FINISH_MANY} for these ends: one array element per end. */
  public static Map<String, Object> finishParams(List<Ending> ends) {
    int n = ends.size();
    var ids = new UUID[n];
    var attempts = new Integer[n];
    var statuses = new String[n];
    var results = new String[n];
    var errors = new String[n];
    var backoffs = new Long[n];
    var retries = new Boolean[n];
    for (int i = 0; i < n; i++) {
      Ending end = ends.get(i);
      ids[i] = end.id();
      attempts[i] = end.attempt();
      statuses[i] = end.status().wire();
      results[i] = end.resultJson();
      errors[i] = end.error();
      backoffs[i] = end.backoffMillis();
      retries[i] = end.retry();
    }
    return Map.of(
        "ids",
        ids,
        "attempts",
        attempts,
        "statuses",
        statuses,
        "results",
        results,
        "errors",
        errors,
        "backoffs",
        backoffs,
        "retries",
        retries);
  }
}
