package io.spool.store;

/**
 * What the HTTP API's job routes run: reading one job or many, listing a user's jobs page by page,
 * and the user's own changes (cancel, requeue and discard of dead letters).
 */
public final class UserJobSql {
  /** The jobs with these {@code ids}. */
  public static final String SELECT_MANY =
      "SELECT " + JobRows.COLUMNS + " FROM jobs WHERE id = ANY(#{ids}::uuid[])";

  /**
   * Job {@code id} of {@code user}, with its latest webhook delivery as JSON text in column {@code
   * webhook}.
   */
  public static final String SELECT_OWN =
      "SELECT "
          + JobRows.COLUMNS
          + ", ("
          + WebhookSql.LATEST_OF_JOB
          + ") AS webhook FROM jobs WHERE id = #{id} AND user_id = #{user}";

  /**
   * The jobs with these {@code ids} (whoever owns them: the caller checks), each with its latest
   * webhook delivery as JSON text in column {@code webhook}: many reads of single jobs answered by
   * one statement.
   */
  public static final String SELECT_MANY_WITH_WEBHOOK =
      "SELECT "
          + JobRows.COLUMNS
          + ", ("
          + WebhookSql.LATEST_OF_JOB
          + ") AS webhook FROM jobs WHERE id = ANY(#{ids}::uuid[])";

  /**
   * The status of job {@code id} if it belongs to {@code user}, and whether it was discarded from
   * the DLQ.
   */
  public static final String SELECT_OWN_STATUS =
      "SELECT status, discarded_at IS NOT NULL AS discarded FROM jobs WHERE id = #{id} AND user_id = #{user}";

  /**
   * Cancels job {@code id} of {@code user}: a pending job at once; a running one is flagged, and
   * its worker ends it. Returns the job, or nothing if it is unknown or no longer cancellable.
   */
  public static final String CANCEL =
      """
      UPDATE jobs SET status = CASE WHEN status = 'pending' THEN 'cancelled' ELSE status END,
                      finished_at = CASE WHEN status = 'pending' THEN clock_timestamp() ELSE finished_at END,
                      error = CASE WHEN status = 'pending' THEN 'cancelled' ELSE error END,
                      cancel_requested = (status = 'running')
      WHERE id = #{id} AND user_id = #{user} AND status IN ('pending', 'running')
      RETURNING\s"""
          + JobRows.COLUMNS;

  /**
   * Puts dead-lettered job {@code id} of {@code user} back to pending with a fresh run of
   * max_attempts (attempts itself never goes down: it is the fencing token). Returns the job, or
   * nothing.
   */
  public static final String REQUEUE =
      """
      UPDATE jobs SET status = 'pending', attempts_base = attempts, run_at = now(), finished_at = NULL,
                      result = NULL, cancel_requested = false
      WHERE id = #{id} AND user_id = #{user} AND status = 'failed' AND discarded_at IS NULL
      RETURNING\s"""
          + JobRows.COLUMNS;

  /**
   * Takes dead-lettered job {@code id} of {@code user} out of the DLQ (it stays failed). Returns
   * its id, or nothing.
   */
  public static final String DISCARD =
      """
      UPDATE jobs SET discarded_at = now()
      WHERE id = #{id} AND user_id = #{user} AND status = 'failed' AND discarded_at IS NULL
      RETURNING id""";

  private UserJobSql() {}

  /**
   * A user's jobs (or only their dead letters: failed and not discarded), newest first, optionally
   * filtered: parameters {@code user} and {@code limit}, and {@code status}, {@code type} and
   * {@code after} (the last id of the previous page) when asked for. Each filter is added only when
   * used, so the planner picks the user's index or the dead-letter index for what is asked.
   */
  public static String listOwn(
      boolean byStatus, boolean byType, boolean afterCursor, boolean deadLettersOnly) {
    var sql =
        new StringBuilder("SELECT ")
            .append(JobRows.COLUMNS)
            .append(" FROM jobs WHERE user_id = #{user}");
    if (deadLettersOnly) {
      sql.append(" AND status = 'failed' AND discarded_at IS NULL");
    }
    if (byStatus) {
      sql.append(" AND status = #{status}");
    }
    if (byType) {
      sql.append(" AND type = #{type}");
    }
    if (afterCursor) {
      sql.append(" AND id < #{after}");
    }
    return sql.append(" ORDER BY id DESC LIMIT #{limit}").toString();
  }
}
