package io.spool.store;

import io.spool.config.SpoolConfig;

/**
 * The SQL of the webhook outbox ({@code webhook_deliveries}). Rows are created by a trigger when a
 * job with a callback ends (migration V4); workers claim due rows under a lease, POST them, and
 * record the outcome fenced by {@code (id, attempts)}, like every other worker write (design note 3
 * in docs/architecture.md).
 */
public final class WebhookSql {
  /**
   * The latest delivery of the job in the enclosing query ({@code jobs.id}) as JSON text: what the
   * job view shows, including a delivery that failed for good.
   */
  static final String LATEST_OF_JOB =
      """
      SELECT json_build_object('url', d.url, 'state', d.state, 'attempts', d.attempts,
                               'last_status', d.last_status, 'last_error', d.last_error,
                               'next_attempt_at', CASE WHEN d.state = 'pending' THEN d.next_attempt_at END,
                               'delivered_at', CASE WHEN d.state = 'delivered' THEN d.finished_at END)::text
      FROM webhook_deliveries d WHERE d.job_id = jobs.id ORDER BY d.id DESC LIMIT 1""";

  /**
   * Claims up to {@code max} due deliveries for {@code worker}: each attempt counted at once and
   * leased for {@code leaseSecs} seconds, after which another worker may send it again (this one
   * died mid-POST). Returns id, job_id, url, payload, attempts.
   */
  public static final String CLAIM_DUE =
      """
      WITH due AS (
        SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= now()
        ORDER BY next_attempt_at LIMIT #{max} FOR UPDATE SKIP LOCKED)
      UPDATE webhook_deliveries d
      SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => #{leaseSecs}), lease_owner = #{worker}
      FROM due WHERE d.id = due.id
      RETURNING d.id, d.job_id, d.url, d.payload, d.attempts""";

  /**
   * Records many attempts' outcomes, each fenced by (id, attempt): delivered; failed for good; or
   * due again after its backoff. Parameters are parallel arrays: {@code ids}, {@code attempts},
   * {@code outcomes} ('delivered', 'failed' or 'retry'), {@code statuses} (the receiver's, null if
   * it did not answer), {@code errors}, {@code backoffs} (millis).
   */
  public static final String RECORD_MANY =
      """
      UPDATE webhook_deliveries d
      SET state = CASE WHEN v.outcome = 'retry' THEN 'pending' ELSE v.outcome END,
          next_attempt_at = CASE WHEN v.outcome = 'retry'
                                 THEN now() + make_interval(secs => v.backoff_ms / 1000.0)
                                 ELSE d.next_attempt_at END,
          finished_at = CASE WHEN v.outcome = 'retry' THEN NULL ELSE clock_timestamp() END,
          last_status = v.status, last_error = v.error, lease_owner = NULL
      FROM unnest(#{ids}::bigint[], #{attempts}::int[], #{outcomes}::text[], #{statuses}::int[], #{errors}::text[],
                  #{backoffs}::int[])
        AS v(id, attempt, outcome, status, error, backoff_ms)
      WHERE d.id = v.id AND d.attempts = v.attempt AND d.state = 'pending'""";

  /** The LISTEN/NOTIFY channel on which the outbox trigger announces new deliveries. */
  public static String channel(SpoolConfig config) {
    return "spool_webhooks_" + config.pg().schema();
  }

  private WebhookSql() {}
}
