package io.spool.store;

import io.spool.model.JobStatus;


/**
 * What the HTTP API's job routes run: reading one job or many, listing a user's jobs page by page,
 * and the user's own changes (cancel, requeue and discard of dead letters).
 */
public final class UserJobSql {
  /** The jobs with ids $1. */
  public static final String SELECT_MANY = "SELECT " + JobRows.COLUMNS + " FROM jobs WHERE id = ANY($1::uuid[])";

  /** Job $1 of user $2, with its latest webhook delivery as JSON text in column {@code webhook}. */
  public static final String SELECT_OWN = "SELECT " + JobRows.COLUMNS + ", (" + WebhookSql.LATEST_OF_JOB
      + ") AS webhook FROM jobs WHERE id = $1 AND user_id = $2";

  /**
   * The jobs with ids $1 (whoever owns them: the caller checks), each with its latest webhook delivery
   * as JSON text in column {@code webhook}: many reads of single jobs answered by one statement.
   */
  public static final String SELECT_MANY_WITH_WEBHOOK = "SELECT " + JobRows.COLUMNS + ", (" + WebhookSql.LATEST_OF_JOB
      + ") AS webhook FROM jobs WHERE id = ANY($1::uuid[])";

  /** The status of job $1 if it belongs to user $2, and whether it was discarded from the DLQ. */
  public static final String SELECT_OWN_STATUS =
      "SELECT status, discarded_at IS NOT NULL AS discarded FROM jobs WHERE id = $1 AND user_id = $2";

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
      RETURNING %s""".formatted(JobStatus.CANCELLED.sqlGuard("status"), JobRows.COLUMNS);

  /**
   * Puts dead-lettered job $1 of user $2 back to pending with a fresh run of max_attempts (attempts
   * itself never goes down: it is the fencing token). Returns the job, or nothing.
   */
  public static final String REQUEUE = """
      UPDATE jobs SET status = 'pending', attempts_base = attempts, run_at = now(), finished_at = NULL,
                      result = NULL, cancel_requested = false
      WHERE id = $1 AND user_id = $2 AND status = 'failed' AND discarded_at IS NULL
      RETURNING %s""".formatted(JobRows.COLUMNS);

  /** Takes dead-lettered job $1 of user $2 out of the DLQ (it stays failed). Returns its id, or nothing. */
  public static final String DISCARD = """
      UPDATE jobs SET discarded_at = now()
      WHERE id = $1 AND user_id = $2 AND status = 'failed' AND discarded_at IS NULL
      RETURNING id""";

  private UserJobSql() {}

  /**
   * A user's jobs (or only their dead letters: failed and not discarded), newest first, optionally
   * filtered. Parameters: $1 user, then the status, type and cursor (the last id of the previous page)
   * that are asked for, in that order, then the row limit.
   */
  public static String listOwn(boolean byStatus, boolean byType, boolean afterCursor, boolean deadLettersOnly) {
    var sql = new StringBuilder("SELECT ").append(JobRows.COLUMNS).append(" FROM jobs WHERE user_id = $1");
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
}
