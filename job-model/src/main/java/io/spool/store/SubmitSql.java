package io.spool.store;

import io.spool.model.JobJson;
import io.spool.model.NewJob;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * What the gateway runs to accept submissions: the batched insert and the checks in front of it.
 */
public final class SubmitSql {
  /**
   * Many new jobs in one statement (one commit): parallel arrays, one element per job ({@link
   * #insertParams}).
   */
  public static final String INSERT_MANY =
      """
      INSERT INTO jobs (id, type, queue, user_id, request, status, max_attempts, priority, run_at, timeout_secs,
                        callback_url, concurrency_key, retention_secs)
      SELECT u.id, u.type, u.queue, u.user_id, u.request::jsonb, 'pending', u.max_attempts, u.priority,
             coalesce(u.run_at, now()), u.timeout_secs, u.callback_url, u.concurrency_key, u.retention_secs
      FROM unnest(#{ids}::uuid[], #{types}::text[], #{queues}::text[], #{users}::text[], #{requests}::text[],
                  #{maxAttempts}::int[], #{priorities}::int[], #{runAts}::timestamptz[], #{timeouts}::int[],
                  #{callbacks}::text[], #{concurrencyKeys}::text[], #{retentions}::int[])
        AS u(id, type, queue, user_id, request, max_attempts, priority, run_at, timeout_secs, callback_url,
             concurrency_key, retention_secs)
      RETURNING id, submitted_at, run_at""";

  /** Pending jobs, all queues together (an index-only count on the pending index). */
  public static final String COUNT_PENDING = "SELECT count(*) FROM jobs WHERE status = 'pending'";

  /**
   * Holds a transaction-scoped advisory lock on {@code key} (user and concurrency key), so two
   * submissions that refuse a busy key cannot both find it free. A statement of its own before
   * {@link #KEY_BUSY}: under read committed, a check in the same statement would read a snapshot
   * taken before the lock.
   */
  public static final String LOCK_CONCURRENCY_KEY =
      "SELECT pg_advisory_xact_lock(hashtextextended(#{key}, 0))";

  /** Whether {@code user} has a pending or running job with concurrency key {@code key}. */
  public static final String KEY_BUSY =
      """
      SELECT EXISTS (SELECT 1 FROM jobs WHERE user_id = #{user} AND concurrency_key = #{key}
                     AND status IN ('pending', 'running')) AS busy""";

  private SubmitSql() {}

  /** The named parameters of {@link #INSERT_MANY} for these jobs: one array element per job. */
  public static Map<String, Object> insertParams(List<NewJob> jobs) {
    int n = jobs.size();
    var ids = new UUID[n];
    var types = new String[n];
    var queues = new String[n];
    var users = new String[n];
    var requests = new String[n];
    var maxAttempts = new Integer[n];
    var priorities = new Integer[n];
    var runAts = new OffsetDateTime[n];
    var timeouts = new Integer[n];
    var callbacks = new String[n];
    var concurrencyKeys = new String[n];
    var retentions = new Integer[n];
    for (int i = 0; i < n; i++) {
      NewJob job = jobs.get(i);
      ids[i] = job.id();
      types[i] = job.type();
      queues[i] = job.queue();
      users[i] = job.userId();
      requests[i] = JobJson.encode(job.request());
      maxAttempts[i] = job.maxAttempts();
      priorities[i] = job.priority();
      runAts[i] = job.runAt() == null ? null : job.runAt().atOffset(ZoneOffset.UTC);
      timeouts[i] = job.timeoutSecs();
      callbacks[i] = job.callbackUrl();
      concurrencyKeys[i] = job.concurrencyKey();
      retentions[i] = job.retentionSecs();
    }
    var params = new HashMap<String, Object>();
    params.put("ids", ids);
    params.put("types", types);
    params.put("queues", queues);
    params.put("users", users);
    params.put("requests", requests);
    params.put("maxAttempts", maxAttempts);
    params.put("priorities", priorities);
    params.put("runAts", runAts);
    params.put("timeouts", timeouts);
    params.put("callbacks", callbacks);
    params.put("concurrencyKeys", concurrencyKeys);
    params.put("retentions", retentions);
    return params;
  }
}
