package io.spool.model;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Every setting of a Spool process, read from {@code SPOOL_*} environment variables and validated at
 * start-up. Gateway and worker read the same record and use what concerns them.
 *
 * @param pgUrl             Postgres, {@code postgresql://user:password@host:port/db}. {@code SPOOL_PG_URL},
 *                          default {@code postgresql://postgres@127.0.0.1:5432/postgres}.
 * @param pgSchema          the schema holding Spool's tables, created by migrations. {@code SPOOL_PG_SCHEMA},
 *                          default {@code spool}.
 * @param pgPoolSize        Postgres connections per process (pipelined). {@code SPOOL_PG_POOL_SIZE}, default 4.
 * @param redisUrl          Redis, {@code redis://[:password@]host:port[/db]}. {@code SPOOL_REDIS_URL},
 *                          default {@code redis://127.0.0.1:6379}.
 * @param keyPrefix         prefix (and hash tag) of every Redis key, so several Spools can share a Redis.
 *                          {@code SPOOL_KEY_PREFIX}, default {@code spool}.
 * @param httpPort          the gateway's HTTP port. {@code SPOOL_HTTP_PORT}, default 8080.
 * @param httpInstances     gateway event-loop verticles. {@code SPOOL_HTTP_INSTANCES}, default: cores.
 * @param queues            the queues a worker consumes. {@code SPOOL_QUEUES} (comma-separated), default
 *                          {@code default}.
 * @param workerConcurrency job slots (jobs running at once) per worker process.
 *                          {@code SPOOL_WORKER_CONCURRENCY}, default 10.
 * @param maxAttempts       attempts a job gets unless its submission says otherwise.
 *                          {@code SPOOL_MAX_ATTEMPTS}, default 3.
 * @param visibilityTimeout how long a worker may go without a heartbeat before its running jobs are
 *                          returned to pending, and how long a read signal may stay unclaimed before
 *                          another worker takes it over. {@code SPOOL_VISIBILITY_TIMEOUT_SECS}, default 30.
 * @param heartbeatInterval how often a worker proves it is alive; must be below the visibility timeout.
 *                          {@code SPOOL_HEARTBEAT_SECS}, default 5.
 * @param shutdownGrace     on SIGTERM, how long running jobs may go on before they are handed back.
 *                          {@code SPOOL_SHUTDOWN_GRACE_SECS}, default 30.
 * @param jobTimeout        how long one attempt may run unless its submission says otherwise.
 *                          {@code SPOOL_JOB_TIMEOUT_SECS}, default 3600.
 * @param retryBase         backoff before the first retry (full jitter: a random wait up to this,
 *                          doubling per attempt). {@code SPOOL_RETRY_BASE_MILLIS}, default 1000.
 * @param retryMax          the cap of that doubling. {@code SPOOL_RETRY_MAX_MILLIS}, default 300000.
 * @param eventRetention    how long a job's event log is kept after the job ends.
 *                          {@code SPOOL_EVENT_RETENTION_SECS}, default 3600.
 * @param eventLogMax       events kept per job (older ones are trimmed). {@code SPOOL_EVENT_LOG_MAX},
 *                          default 1000.
 * @param webhooks          how workers deliver webhooks, and where the gateway lets them go.
 * @param idempotencyTtl    how long an idempotency key names its job; a reuse after that makes a new
 *                          job. {@code SPOOL_IDEMPOTENCY_TTL_SECS}, default 86400 (24 h).
 */
public record SpoolConfig(
    String pgUrl,
    String pgSchema,
    int pgPoolSize,
    String redisUrl,
    String keyPrefix,
    int httpPort,
    int httpInstances,
    List<String> queues,
    int workerConcurrency,
    int maxAttempts,
    Duration visibilityTimeout,
    Duration heartbeatInterval,
    Duration shutdownGrace,
    Duration jobTimeout,
    Duration retryBase,
    Duration retryMax,
    Duration eventRetention,
    int eventLogMax,
    Webhooks webhooks,
    Duration idempotencyTtl) {

  /**
   * Webhook delivery settings.
   *
   * @param secrets      the HMAC-SHA256 keys that sign deliveries, each at least 16 characters; several
   *                     (comma-separated) while rotating, each giving one {@code v1=} in the signature.
   *                     Workers deliver nothing until one is set (deliveries wait, visible on the job).
   *                     {@code SPOOL_WEBHOOK_SECRET}, no default. Never logged.
   * @param allowedHosts hosts exempt from the SSRF rules (e.g. an internal receiver), {@code *.domain}
   *                     for a whole domain. {@code SPOOL_WEBHOOK_ALLOWED_HOSTS}, default none.
   * @param maxAttempts  POSTs per delivery before it is recorded as failed.
   *                     {@code SPOOL_WEBHOOK_MAX_ATTEMPTS}, default 10.
   * @param retryBase    backoff before the first retry (full jitter, doubling per attempt).
   *                     {@code SPOOL_WEBHOOK_RETRY_BASE_MILLIS}, default 2000.
   * @param retryMax     the cap of that doubling. {@code SPOOL_WEBHOOK_RETRY_MAX_MILLIS}, default 3600000.
   * @param timeout      how long one POST may take, connecting included. {@code SPOOL_WEBHOOK_TIMEOUT_SECS},
   *                     default 10.
   * @param concurrency  POSTs in flight per worker process. {@code SPOOL_WEBHOOK_CONCURRENCY}, default 32.
   */
  public record Webhooks(List<String> secrets, List<String> allowedHosts, int maxAttempts, Duration retryBase,
      Duration retryMax, Duration timeout, int concurrency) {
    public static final String ALLOW_SETTING = "SPOOL_WEBHOOK_ALLOWED_HOSTS";

    /** The SSRF rules webhook destinations obey. */
    public DestinationRules destinations() {
      return new DestinationRules(allowedHosts, ALLOW_SETTING);
    }

    @Override
    public String toString() {
      return "Webhooks[secrets=" + secrets.size() + " set, allowedHosts=" + allowedHosts + ", maxAttempts="
          + maxAttempts + ", retryBase=" + retryBase + ", retryMax=" + retryMax + ", timeout=" + timeout
          + ", concurrency=" + concurrency + "]";
    }
  }

  public static final String DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres";
  public static final String DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";
  /** Highest accepted per-job max_attempts. */
  public static final int MAX_ATTEMPTS_LIMIT = 100;
  /** Longest accepted per-job timeout: a week. */
  public static final int MAX_TIMEOUT_SECS = 7 * 24 * 3600;

  public static SpoolConfig fromEnv() {
    return fromEnv(System.getenv());
  }

  /** For a process's main: the settings, or the list of what is wrong with them and exit status 2. */
  public static SpoolConfig fromEnvOrExit() {
    try {
      return fromEnv();
    } catch (ConfigException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      throw e;
    }
  }

  /** Reads and validates the settings; throws {@link ConfigException} listing every bad one. */
  public static SpoolConfig fromEnv(Map<String, String> env) {
    var s = new Settings(env);
    var config = new SpoolConfig(
        s.url("SPOOL_PG_URL", DEFAULT_PG_URL, "postgresql", "postgres"),
        s.string("SPOOL_PG_SCHEMA", "spool", Names.PG_SCHEMA, "a lower-case identifier such as spool"),
        s.integer("SPOOL_PG_POOL_SIZE", 4, 1, 100),
        s.url("SPOOL_REDIS_URL", DEFAULT_REDIS_URL, "redis", "rediss"),
        s.string("SPOOL_KEY_PREFIX", "spool", Names.KEY_PREFIX, Names.KEY_PREFIX_RULE),
        s.integer("SPOOL_HTTP_PORT", 8080, 0, 65535),
        s.integer("SPOOL_HTTP_INSTANCES", Runtime.getRuntime().availableProcessors(), 1, 64),
        s.list("SPOOL_QUEUES", List.of(Names.DEFAULT_QUEUE), q -> Names.QUEUE.matcher(q).matches(), Names.NAME_RULE),
        s.integer("SPOOL_WORKER_CONCURRENCY", 10, 1, 100_000),
        s.integer("SPOOL_MAX_ATTEMPTS", 3, 1, MAX_ATTEMPTS_LIMIT),
        Duration.ofSeconds(s.integer("SPOOL_VISIBILITY_TIMEOUT_SECS", 30, 2, 86_400)),
        Duration.ofSeconds(s.integer("SPOOL_HEARTBEAT_SECS", 5, 1, 3_600)),
        Duration.ofSeconds(s.integer("SPOOL_SHUTDOWN_GRACE_SECS", 30, 0, 86_400)),
        Duration.ofSeconds(s.integer("SPOOL_JOB_TIMEOUT_SECS", 3600, 1, MAX_TIMEOUT_SECS)),
        Duration.ofMillis(s.integer("SPOOL_RETRY_BASE_MILLIS", 1000, 0, 3_600_000)),
        Duration.ofMillis(s.integer("SPOOL_RETRY_MAX_MILLIS", 300_000, 0, 86_400_000)),
        Duration.ofSeconds(s.integer("SPOOL_EVENT_RETENTION_SECS", 3600, 1, 30 * 86_400)),
        s.integer("SPOOL_EVENT_LOG_MAX", 1000, 10, 1_000_000),
        new Webhooks(
            s.secrets("SPOOL_WEBHOOK_SECRET", 16),
            s.list(Webhooks.ALLOW_SETTING, List.of(), h -> Names.HOST.matcher(h).matches(),
                "a host name or IP address, or *.domain"),
            s.integer("SPOOL_WEBHOOK_MAX_ATTEMPTS", 10, 1, 100),
            Duration.ofMillis(s.integer("SPOOL_WEBHOOK_RETRY_BASE_MILLIS", 2000, 0, 3_600_000)),
            Duration.ofMillis(s.integer("SPOOL_WEBHOOK_RETRY_MAX_MILLIS", 3_600_000, 0, 86_400_000)),
            Duration.ofSeconds(s.integer("SPOOL_WEBHOOK_TIMEOUT_SECS", 10, 1, 300)),
            s.integer("SPOOL_WEBHOOK_CONCURRENCY", 32, 1, 10_000)),
        Duration.ofSeconds(s.integer("SPOOL_IDEMPOTENCY_TTL_SECS", 86_400, 1, 90 * 86_400)));
    if (config.heartbeatInterval().compareTo(config.visibilityTimeout()) >= 0) {
      s.problem("SPOOL_HEARTBEAT_SECS (" + config.heartbeatInterval().toSeconds()
          + ") must be below SPOOL_VISIBILITY_TIMEOUT_SECS (" + config.visibilityTimeout().toSeconds() + ")");
    }
    s.check();
    return config;
  }


  public Keys keys() {
    return new Keys(keyPrefix);
  }
}
