package io.spool.store;

/**
 * The SQL of idempotent submission ({@code idempotency_keys}): a key is taken in the same
 * transaction as the job it names, so concurrent submissions with one key make one job.
 */
public final class IdempotencySql {
  /**
   * Takes the keys that are free or expired for the given jobs: parallel arrays {@code users},
   * {@code keys}, {@code hashes} (of the requests), {@code jobs} (ids); {@code secs} to keep them.
   * A key another transaction is taking waits for it to commit, then counts as taken. Returns the
   * keys this statement took.
   */
  public static final String TAKE =
      """
      INSERT INTO idempotency_keys (user_id, key, request_hash, job_id, expires_at)
      SELECT u.user_id, u.key, u.request_hash, u.job_id, now() + make_interval(secs => #{secs})
      FROM unnest(#{users}::text[], #{keys}::text[], #{hashes}::text[], #{jobs}::uuid[]) AS u(user_id, key, request_hash, job_id)
      ON CONFLICT (user_id, key) DO UPDATE
        SET request_hash = EXCLUDED.request_hash, job_id = EXCLUDED.job_id, created_at = now(),
            expires_at = EXCLUDED.expires_at
        WHERE idempotency_keys.expires_at <= now()
      RETURNING key""";

  /** The live {@code keys} of {@code user}: key, request_hash, job_id. */
  public static final String HELD =
      """
      SELECT key, request_hash, job_id FROM idempotency_keys
      WHERE user_id = #{user} AND key = ANY(#{keys}::text[]) AND expires_at > now()""";

  /** Forgets up to {@code max} expired keys (a sweep; repeated until it deletes fewer). */
  public static final String SWEEP =
      """
      DELETE FROM idempotency_keys WHERE ctid IN (
        SELECT ctid FROM idempotency_keys WHERE expires_at <= now() LIMIT #{max})""";

  private IdempotencySql() {}
}
