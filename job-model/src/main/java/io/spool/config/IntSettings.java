package io.spool.config;

/**
 * Every whole-number setting whose default is a constant, with its bounds: the one place each is
 * written. {@link SpoolConfig#fromEnv} reads them through these, and a test holds the README's
 * settings table to their defaults. Settings whose default is derived from another ({@code
 * SPOOL_HEARTBEAT_SECS}, {@code SPOOL_HTTP_INSTANCES}, {@code SPOOL_RATE_BURST}) are read in {@link
 * SpoolConfig#fromEnv} itself.
 */
public final class IntSettings {
  public static final IntSetting VISIBILITY_TIMEOUT_SECS =
      new IntSetting("SPOOL_VISIBILITY_TIMEOUT_SECS", 30, 2, 86_400);
  public static final IntSetting PG_POOL_SIZE = new IntSetting("SPOOL_PG_POOL_SIZE", 4, 1, 100);
  public static final IntSetting HTTP_PORT = new IntSetting("SPOOL_HTTP_PORT", 8080, 0, 65535);
  public static final IntSetting WORKER_CONCURRENCY =
      new IntSetting("SPOOL_WORKER_CONCURRENCY", 10, 1, 100_000);
  public static final IntSetting MAX_ATTEMPTS =
      new IntSetting("SPOOL_MAX_ATTEMPTS", 3, 1, SpoolConfig.MAX_ATTEMPTS_LIMIT);
  public static final IntSetting SHUTDOWN_GRACE_SECS =
      new IntSetting("SPOOL_SHUTDOWN_GRACE_SECS", 30, 0, 86_400);
  public static final IntSetting JOB_TIMEOUT_SECS =
      new IntSetting("SPOOL_JOB_TIMEOUT_SECS", 3600, 1, SpoolConfig.MAX_TIMEOUT_SECS);
  public static final IntSetting RETRY_BASE_MILLIS =
      new IntSetting("SPOOL_RETRY_BASE_MILLIS", 1000, 0, 3_600_000);
  public static final IntSetting RETRY_MAX_MILLIS =
      new IntSetting("SPOOL_RETRY_MAX_MILLIS", 300_000, 0, 86_400_000);
  public static final IntSetting EVENT_RETENTION_SECS =
      new IntSetting("SPOOL_EVENT_RETENTION_SECS", 3600, 1, 30 * 86_400);
  public static final IntSetting EVENT_COALESCE_MILLIS =
      new IntSetting("SPOOL_EVENT_COALESCE_MILLIS", 40, 0, 1_000);

  /** Retention of finished jobs, from {@code finished_at}; 0 keeps them forever. */
  public static final IntSetting RETENTION_COMPLETED_SECS =
      new IntSetting("SPOOL_RETENTION_COMPLETED_SECS", 86_400, 0, SpoolConfig.MAX_RETENTION_SECS);

  public static final IntSetting RETENTION_CANCELLED_SECS =
      new IntSetting("SPOOL_RETENTION_CANCELLED_SECS", 86_400, 0, SpoolConfig.MAX_RETENTION_SECS);
  public static final IntSetting RETENTION_FAILED_SECS =
      new IntSetting("SPOOL_RETENTION_FAILED_SECS", 604_800, 0, SpoolConfig.MAX_RETENTION_SECS);
  public static final IntSetting RETENTION_JOB_MAX_SECS =
      new IntSetting("SPOOL_RETENTION_JOB_MAX_SECS", 2_592_000, 0, SpoolConfig.MAX_RETENTION_SECS);
  public static final IntSetting PRUNE_INTERVAL_SECS =
      new IntSetting("SPOOL_PRUNE_INTERVAL_SECS", 30, 0, 86_400);
  public static final IntSetting PRUNE_BATCH =
      new IntSetting("SPOOL_PRUNE_BATCH", 2_000, 10, 100_000);
  public static final IntSetting EVENT_LOG_MAX =
      new IntSetting("SPOOL_EVENT_LOG_MAX", 1000, 10, 1_000_000);
  public static final IntSetting WEBHOOK_MAX_ATTEMPTS =
      new IntSetting("SPOOL_WEBHOOK_MAX_ATTEMPTS", 10, 1, 100);
  public static final IntSetting WEBHOOK_RETRY_BASE_MILLIS =
      new IntSetting("SPOOL_WEBHOOK_RETRY_BASE_MILLIS", 2000, 0, 3_600_000);
  public static final IntSetting WEBHOOK_RETRY_MAX_MILLIS =
      new IntSetting("SPOOL_WEBHOOK_RETRY_MAX_MILLIS", 3_600_000, 0, 86_400_000);
  public static final IntSetting WEBHOOK_TIMEOUT_SECS =
      new IntSetting("SPOOL_WEBHOOK_TIMEOUT_SECS", 10, 1, 300);
  public static final IntSetting WEBHOOK_CONCURRENCY =
      new IntSetting("SPOOL_WEBHOOK_CONCURRENCY", 32, 1, 10_000);
  public static final IntSetting IDEMPOTENCY_TTL_SECS =
      new IntSetting("SPOOL_IDEMPOTENCY_TTL_SECS", 86_400, 1, 90 * 86_400);
  public static final IntSetting HTTP_TIMEOUT_SECS =
      new IntSetting("SPOOL_HTTP_TIMEOUT_SECS", 30, 1, 86_400);
  public static final IntSetting HTTP_MAX_RESPONSE_BYTES =
      new IntSetting("SPOOL_HTTP_MAX_RESPONSE_BYTES", 1 << 20, 0, 64 << 20);
  public static final IntSetting LLM_IDLE_TIMEOUT_SECS =
      new IntSetting("SPOOL_LLM_IDLE_TIMEOUT_SECS", 120, 1, 86_400);
  public static final IntSetting HTTP_HEADER_TIMEOUT_SECS =
      new IntSetting("SPOOL_HTTP_HEADER_TIMEOUT_SECS", 10, 1, 3_600);
  public static final IntSetting HTTP_BODY_TIMEOUT_SECS =
      new IntSetting("SPOOL_HTTP_BODY_TIMEOUT_SECS", 30, 1, 3_600);
  public static final IntSetting HTTP_IDLE_TIMEOUT_SECS =
      new IntSetting("SPOOL_HTTP_IDLE_TIMEOUT_SECS", 60, 1, 86_400);
  public static final IntSetting METRICS_PORT =
      new IntSetting("SPOOL_METRICS_PORT", 9464, 0, 65535);
  public static final IntSetting STATS_INTERVAL_SECS =
      new IntSetting("SPOOL_STATS_INTERVAL_SECS", 60, 0, 86_400);
  public static final IntSetting QUEUE_STATS_SECS =
      new IntSetting("SPOOL_QUEUE_STATS_SECS", 10, 1, 3_600);
  public static final IntSetting RATE_LIMIT = new IntSetting("SPOOL_RATE_LIMIT", 0, 0, 1_000_000);
  public static final IntSetting QUEUE_LIMIT =
      new IntSetting("SPOOL_QUEUE_LIMIT", 100_000, 1, 1_000_000_000);

  private IntSettings() {}
}
