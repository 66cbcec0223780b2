package io.spool.config;

import io.spool.model.Names;
import io.spool.net.DestinationRules;
import io.spool.signal.Keys;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Every setting of a Spool process, read from {@code SPOOL_*} environment variables and validated
 * at start-up. Gateway and worker read the same record and use what concerns them.
 *
 * @param pg the Postgres every process works against.
 * @param redis the Redis that carries signals, events and rate limits.
 * @param gateway how the gateway serves HTTP.
 * @param worker how a worker consumes its queues and holds its leases.
 * @param jobs what a job gets unless its submission says otherwise.
 * @param events how a job's event log is written and kept.
 * @param webhooks how workers deliver webhooks, and where the gateway lets them go.
 * @param httpJobs how the built-in {@code http} job type calls out, and where it may go.
 * @param llm the OpenAI-compatible server the built-in {@code llm} job type streams from.
 * @param auth who may call the gateway's API.
 * @param limits how much the gateway takes in before it answers 429.
 * @param connections how long a client connection to the gateway may take over each part of a
 *     request.
 * @param ops metrics, health, stats and log settings.
 * @param retention how long finished jobs are kept, and how they are pruned.
 */
public record SpoolConfig(
    Pg pg,
    Redis redis,
    Gateway gateway,
    Worker worker,
    Jobs jobs,
    Events events,
    Webhooks webhooks,
    HttpJobs httpJobs,
    Llm llm,
    Auth auth,
    Limits limits,
    Connections connections,
    Ops ops,
    Retention retention) {

  /**
   * Postgres, the source of truth.
   *
   * @param url {@code postgresql://user:password@host:port/db}. {@code SPOOL_PG_URL}, default
   *     {@value #DEFAULT_PG_URL}.
   * @param schema the schema holding Spool's tables, created by migrations. {@code
   *     SPOOL_PG_SCHEMA}, default {@value #DEFAULT_PG_SCHEMA}.
   * @param poolSize connections of each process's main (pipelined) Postgres client; a gateway has
   *     two smaller pools besides. {@link IntSettings#PG_POOL_SIZE}.
   * @param directUrl a session of its own on the same database, for what a transaction pooler
   *     cannot carry: each worker's one {@code LISTEN} connection and the migrations at start-up.
   *     {@code SPOOL_PG_DIRECT_URL}, default {@code url}; must differ from it when {@code pooler}
   *     is {@link Pooler#TRANSACTION}.
   * @param pooler what {@code url} reaches: Postgres itself, or a pooler in transaction mode such
   *     as PgBouncer's {@code pool_mode = transaction}. {@code SPOOL_PG_POOLER}, {@code none}
   *     (default) or {@code transaction}. Set by the operator who puts the pooler there.
   * @param listen whether a worker holds its {@code LISTEN} connection, which wakes it at once for
   *     new webhook deliveries and, while Redis is down, for new jobs; without it (a fleet too
   *     large to give each worker a Postgres session) its once-a-second polls find them. {@code
   *     SPOOL_PG_LISTEN}, {@code on} (default) or {@code off}.
   */
  public record Pg(
      String url, String schema, int poolSize, String directUrl, Pooler pooler, boolean listen) {
    /** What {@code SPOOL_PG_URL} reaches; see {@code PgClients} for what each changes. */
    public enum Pooler {
      /**
       * Postgres itself (or a plain TCP proxy): each connection is one session, which keeps its
       * {@code search_path} and its prepared statements.
       */
      NONE,
      /**
       * A transaction pooler: any statement may run on another server session, so nothing lives
       * past a transaction (no cached prepared statements, no {@code search_path} set at connect,
       * no {@code LISTEN}).
       */
      TRANSACTION
    }
  }

  /**
   * Redis.
   *
   * @param mode how Redis is deployed. {@code SPOOL_REDIS_MODE}: {@code standalone} (default), one
   *     server; {@code cluster}, a Redis Cluster; {@code sentinel}, a master and its replicas
   *     watched by Sentinels.
   * @param urls {@code redis://[[user]:password@]host:port[/db]} ({@code rediss://} for TLS): the
   *     server; a cluster's seed nodes (any few); or the Sentinels. {@code SPOOL_REDIS_URL},
   *     comma-separated, default {@value #DEFAULT_REDIS_URL}.
   * @param master the Sentinel master's name. {@code SPOOL_REDIS_MASTER}, default {@value
   *     #DEFAULT_REDIS_MASTER}; used in sentinel mode only.
   * @param keyPrefix prefix of every Redis key (and of its hash tag), so several Spools can share a
   *     Redis. {@code SPOOL_KEY_PREFIX}, default {@value #DEFAULT_KEY_PREFIX}.
   * @param queueShards streams per queue, job type and priority band, each with a hash tag of its
   *     own, so a busy queue spreads over a cluster's masters. {@code SPOOL_QUEUE_SHARDS}, default
   *     1; every gateway and worker must agree on it.
   * @param caFile a PEM file of the CA certificates a {@code rediss://} server's certificate may be
   *     signed by, besides the JVM's. {@code SPOOL_REDIS_CA_FILE}, no default.
   */
  public record Redis(
      RedisMode mode,
      List<String> urls,
      String master,
      String keyPrefix,
      int queueShards,
      String caFile) {
    /** The first URL: the server of a standalone Redis. */
    public String url() {
      return urls.get(0);
    }
  }

  /** How Redis is deployed ({@code SPOOL_REDIS_MODE}). */
  public enum RedisMode {
    STANDALONE,
    CLUSTER,
    SENTINEL
  }

  /**
   * The gateway's HTTP server.
   *
   * @param port the HTTP port. {@link IntSettings#HTTP_PORT}.
   * @param instances event-loop verticles. {@code SPOOL_HTTP_INSTANCES}, default: cores.
   */
  public record Gateway(int port, int instances) {}

  /**
   * A worker process.
   *
   * @param queues the queues it consumes. {@code SPOOL_QUEUES} (comma-separated), default {@value
   *     Names#DEFAULT_QUEUE}.
   * @param concurrency job slots (jobs running at once). {@link IntSettings#WORKER_CONCURRENCY}.
   * @param visibilityTimeout how long a worker may go without a heartbeat before its running jobs
   *     are returned to pending, and how long a read signal may stay unclaimed before another
   *     worker takes it over. {@link IntSettings#VISIBILITY_TIMEOUT_SECS}.
   * @param heartbeatInterval how often a worker proves it is alive; must be below the visibility
   *     timeout. {@code SPOOL_HEARTBEAT_SECS}, default a third of the visibility timeout, at least
   *     1 and at most 5 (see {@link #defaultHeartbeatSecs}).
   * @param shutdownGrace on SIGTERM, how long running jobs may go on before they are handed back.
   *     {@link IntSettings#SHUTDOWN_GRACE_SECS}.
   * @param types the job types it claims, each one a handler on its class path serves. {@code
   *     SPOOL_WORKER_TYPES} (comma-separated), default empty: every type it has a handler for.
   */
  public record Worker(
      List<String> queues,
      List<String> types,
      int concurrency,
      Duration visibilityTimeout,
      Duration heartbeatInterval,
      Duration shutdownGrace) {}

  /**
   * What a job gets unless its submission says otherwise.
   *
   * @param maxAttempts attempts before it is dead-lettered. {@link IntSettings#MAX_ATTEMPTS}.
   * @param timeout how long one attempt may run. {@link IntSettings#JOB_TIMEOUT_SECS}.
   * @param retryBase backoff before the first retry (full jitter: a random wait up to this,
   *     doubling per attempt). {@link IntSettings#RETRY_BASE_MILLIS}.
   * @param retryMax the cap of that doubling. {@link IntSettings#RETRY_MAX_MILLIS}.
   * @param idempotencyTtl how long an idempotency key names its job; a reuse after that makes a new
   *     job. {@link IntSettings#IDEMPOTENCY_TTL_SECS}.
   */
  public record Jobs(
      int maxAttempts,
      Duration timeout,
      Duration retryBase,
      Duration retryMax,
      Duration idempotencyTtl) {}

  /**
   * A job's event log in Redis.
   *
   * @param retention how long it is kept after the job ends. {@link
   *     IntSettings#EVENT_RETENTION_SECS}.
   * @param coalesce a job's handler events are written at most once per this window, the first at
   *     once; consecutive text-only {@code output} events in one write are joined. {@link
   *     IntSettings#EVENT_COALESCE_MILLIS}; 0 writes as fast as Redis answers.
   * @param logMax events kept per job (older ones are trimmed). {@link IntSettings#EVENT_LOG_MAX}.
   */
  public record Events(Duration retention, Duration coalesce, int logMax) {}

  /**
   * How long finished jobs are kept, counted from {@code finished_at}, and how the workers' pruner
   * deletes them. A retention of zero keeps jobs of that status forever.
   *
   * @param completed {@link IntSettings#RETENTION_COMPLETED_SECS}
   * @param cancelled {@link IntSettings#RETENTION_CANCELLED_SECS}
   * @param failed dead letters, kept longer for people to review. {@link
   *     IntSettings#RETENTION_FAILED_SECS}
   * @param jobMax the most a submission's own {@code retention_secs} may ask for; 0: no cap, and a
   *     job may ask to be kept forever ({@code retention_secs: 0}). {@link
   *     IntSettings#RETENTION_JOB_MAX_SECS}
   * @param pruneInterval how often a worker looks for jobs past their retention; 0 turns the pruner
   *     off in that worker. {@link IntSettings#PRUNE_INTERVAL_SECS}
   * @param pruneBatch the most jobs one delete takes (the pruner takes fewer when a batch is slow).
   *     {@link IntSettings#PRUNE_BATCH}
   */
  public record Retention(
      Duration completed,
      Duration cancelled,
      Duration failed,
      Duration jobMax,
      Duration pruneInterval,
      int pruneBatch) {}

  /**
   * Webhook delivery settings.
   *
   * @param secrets the HMAC-SHA256 keys that sign deliveries, each at least 16 characters; several
   *     (comma-separated) while rotating, each giving one {@code v1=} in the signature. Workers
   *     deliver nothing until one is set (deliveries wait, visible on the job). {@code
   *     SPOOL_WEBHOOK_SECRET}, no default. Never logged.
   * @param allowedHosts hosts exempt from the SSRF rules (e.g. an internal receiver), {@code
   *     *.domain} for a whole domain. {@code SPOOL_WEBHOOK_ALLOWED_HOSTS}, default none.
   * @param maxAttempts POSTs per delivery before it is recorded as failed. {@link
   *     IntSettings#WEBHOOK_MAX_ATTEMPTS}.
   * @param retryBase backoff before the first retry (full jitter, doubling per attempt). {@link
   *     IntSettings#WEBHOOK_RETRY_BASE_MILLIS}.
   * @param retryMax the cap of that doubling. {@link IntSettings#WEBHOOK_RETRY_MAX_MILLIS}.
   * @param timeout how long one POST may take, connecting included. {@link
   *     IntSettings#WEBHOOK_TIMEOUT_SECS}.
   * @param concurrency POSTs in flight per worker process. {@link IntSettings#WEBHOOK_CONCURRENCY}.
   */
  public record Webhooks(
      List<String> secrets,
      List<String> allowedHosts,
      int maxAttempts,
      Duration retryBase,
      Duration retryMax,
      Duration timeout,
      int concurrency) {
    public static final String ALLOW_SETTING = "SPOOL_WEBHOOK_ALLOWED_HOSTS";

    /** The SSRF rules webhook destinations obey. */
    public DestinationRules destinations() {
      return new DestinationRules(allowedHosts, ALLOW_SETTING);
    }

    @Override
    public String toString() {
      return "Webhooks[secrets="
          + secrets.size()
          + " set, allowedHosts="
          + allowedHosts
          + ", maxAttempts="
          + maxAttempts
          + ", retryBase="
          + retryBase
          + ", retryMax="
          + retryMax
          + ", timeout="
          + timeout
          + ", concurrency="
          + concurrency
          + "]";
    }
  }

  /**
   * The built-in {@code http} job type.
   *
   * @param allowedHosts hosts exempt from the SSRF rules (which are the webhooks' rules), {@code
   *     *.domain} for a whole domain. {@code SPOOL_HTTP_ALLOWED_HOSTS}, default none.
   * @param timeout how long one request may take, connecting and reading the answer included (the
   *     job's own timeout bounds it too). {@link IntSettings#HTTP_TIMEOUT_SECS}.
   * @param maxResponseBytes how much of an answer's body is kept in the result; the rest is dropped
   *     and the result says {@code "truncated": true}. {@link IntSettings#HTTP_MAX_RESPONSE_BYTES}
   *     (1 MiB).
   */
  public record HttpJobs(List<String> allowedHosts, Duration timeout, int maxResponseBytes) {
    public static final String ALLOW_SETTING = "SPOOL_HTTP_ALLOWED_HOSTS";

    /** The SSRF rules {@code http} jobs obey. */
    public DestinationRules destinations() {
      return new DestinationRules(allowedHosts, ALLOW_SETTING);
    }
  }

  /**
   * The built-in {@code llm} job type.
   *
   * @param baseUrl an OpenAI-compatible API, e.g. {@code https://api.openai.com/v1} or a local vLLM
   *     or Ollama; {@code /chat/completions} is appended. Workers run {@code llm} jobs only when it
   *     is set. {@code SPOOL_LLM_BASE_URL}, no default. The operator's choice, so not subject to
   *     the SSRF rules.
   * @param apiKey sent as {@code Authorization: Bearer <key>}. {@code SPOOL_LLM_API_KEY}, default
   *     none. Never logged.
   * @param idleTimeout how long the stream may stay silent (before the first token included) before
   *     the attempt fails. {@link IntSettings#LLM_IDLE_TIMEOUT_SECS}.
   */
  public record Llm(String baseUrl, String apiKey, Duration idleTimeout) {
    public boolean enabled() {
      return baseUrl != null;
    }

    @Override
    public String toString() {
      return "Llm[baseUrl="
          + baseUrl
          + ", apiKey="
          + (apiKey == null ? "not set" : "set")
          + ", idleTimeout="
          + idleTimeout
          + "]";
    }
  }

  /**
   * The gateway's API keys. Each entry is {@code key=user}, the key at least 16 characters; a user
   * may have several keys (to rotate them).
   *
   * @param keys entries from {@code SPOOL_API_KEYS} (comma-separated), default none. Never logged.
   * @param keysFile a file of entries, one per line ({@code #} starts a comment), read when the
   *     gateway starts. {@code SPOOL_API_KEYS_FILE}, default none.
   * @param disabled {@code SPOOL_AUTH=none}: no keys asked for, every caller is the user {@code
   *     anonymous}. The gateway refuses to start with no keys unless this is set. {@code
   *     SPOOL_AUTH}, {@code keys} (default) or {@code none}.
   * @param workerKeys the worker keys of remote workers (the worker protocol), {@code key=name}
   *     entries from {@code SPOOL_WORKER_KEYS} (comma-separated), default none: then no remote
   *     worker is let in. Never logged. A worker key opens only the worker routes, a user key only
   *     the others.
   * @param workerKeysFile a file of worker key entries, one per line. {@code
   *     SPOOL_WORKER_KEYS_FILE}, default none.
   */
  public record Auth(
      List<String> keys,
      String keysFile,
      boolean disabled,
      List<String> workerKeys,
      String workerKeysFile) {
    /** User keys only (no remote workers). */
    public Auth(List<String> keys, String keysFile, boolean disabled) {
      this(keys, keysFile, disabled, List.of(), null);
    }

    @Override
    public String toString() {
      return "Auth[keys="
          + keys.size()
          + " set, keysFile="
          + keysFile
          + ", disabled="
          + disabled
          + ", workerKeys="
          + workerKeys.size()
          + " set, workerKeysFile="
          + workerKeysFile
          + "]";
    }
  }

  /**
   * Backpressure.
   *
   * @param queueLimit most pending jobs (all queues together); past it a submission is a 429 with
   *     {@code Retry-After}. Each gateway counts them once a second and adds what it accepted
   *     since, so several gateways may overshoot by about a second of intake. {@link
   *     IntSettings#QUEUE_LIMIT}.
   * @param ratePerSec requests per second each user may make, on average, shared by all gateways
   *     through Redis (each gateway limits on its own while Redis is away); 0 for no limit. {@link
   *     IntSettings#RATE_LIMIT}.
   * @param rateBurst requests a user may make at once after being idle. {@code SPOOL_RATE_BURST},
   *     default twice the rate.
   */
  public record Limits(int queueLimit, int ratePerSec, int rateBurst) {}

  /**
   * Bounds on what one client connection may hold at the gateway, so a slow or silent client cannot
   * keep sockets (and their buffers) forever; each closing is counted in {@code
   * spool_http_connections_closed_total{reason}}.
   *
   * @param headerTimeout a new connection must have sent a whole request head within this. {@link
   *     IntSettings#HTTP_HEADER_TIMEOUT_SECS}.
   * @param bodyTimeout a request's body must have arrived whole within this of its head; past it
   *     the answer is a 408 and the connection closes. {@link IntSettings#HTTP_BODY_TIMEOUT_SECS}.
   * @param idleTimeout a keep-alive connection with no request in progress closes after this (a
   *     long-poll, SSE stream or WebSocket in progress is not idle). {@link
   *     IntSettings#HTTP_IDLE_TIMEOUT_SECS}.
   */
  public record Connections(Duration headerTimeout, Duration bodyTimeout, Duration idleTimeout) {}

  /**
   * How a process can be watched.
   *
   * @param metricsPort the worker's port for {@code /metrics} and {@code /health/*} (the gateway
   *     serves them on its HTTP port); 0 picks a free port and logs it. {@link
   *     IntSettings#METRICS_PORT}.
   * @param metricsToken when set, {@code /metrics} asks for {@code Authorization: Bearer <token>}
   *     (gateway and worker). {@code SPOOL_METRICS_TOKEN}, default none (open, as Prometheus
   *     expects; keep the port private instead). Never logged.
   * @param statsInterval how often each worker logs one {@code stats} line; zero for never. {@link
   *     IntSettings#STATS_INTERVAL_SECS}.
   * @param queueStatsInterval how often a process reads the queues' depth, lag and dead letters
   *     from Postgres and Redis for its gauges ({@code /v1/queues} reads them again when this
   *     reading is over a second old). {@link IntSettings#QUEUE_STATS_SECS}.
   * @param jsonLogs one JSON object per log line instead of text. {@code SPOOL_LOG_FORMAT}, {@code
   *     text} (default) or {@code json}; read by the logging set-up.
   */
  public record Ops(
      int metricsPort,
      String metricsToken,
      Duration statsInterval,
      Duration queueStatsInterval,
      boolean jsonLogs) {
    @Override
    public String toString() {
      return "Ops[metricsPort="
          + metricsPort
          + ", metricsToken="
          + (metricsToken == null ? "not set" : "set")
          + ", statsInterval="
          + statsInterval
          + ", queueStatsInterval="
          + queueStatsInterval
          + ", jsonLogs="
          + jsonLogs
          + "]";
    }
  }

  public static final String DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres";
  public static final String DEFAULT_PG_SCHEMA = "spool";
  public static final String DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";
  public static final String DEFAULT_REDIS_MASTER = "mymaster";
  public static final String DEFAULT_KEY_PREFIX = "spool";

  /** Highest accepted per-job max_attempts. */
  public static final int MAX_ATTEMPTS_LIMIT = 100;

  /** Longest accepted per-job timeout: a week. */
  public static final int MAX_TIMEOUT_SECS = 7 * 24 * 3600;

  /** The longest retention any setting or job may give: ten years. */
  public static final int MAX_RETENTION_SECS = 10 * 365 * 86_400;

  /**
   * The heartbeat interval unless {@code SPOOL_HEARTBEAT_SECS} says otherwise or the visibility
   * timeout is short.
   */
  public static final int MAX_DEFAULT_HEARTBEAT_SECS = 5;

  /**
   * The heartbeat when {@code SPOOL_HEARTBEAT_SECS} is not set: a third of the visibility timeout,
   * so a worker may miss two beats before it loses its jobs, at least a second and at most {@link
   * #MAX_DEFAULT_HEARTBEAT_SECS} (a long timeout still finds cancel requests and reaped leases
   * quickly). Always below the timeout, whose lowest value is 2.
   */
  public static int defaultHeartbeatSecs(int visibilityTimeoutSecs) {
    return Math.clamp(visibilityTimeoutSecs / 3, 1, MAX_DEFAULT_HEARTBEAT_SECS);
  }

  public static SpoolConfig fromEnv() {
    return fromEnv(System.getenv());
  }

  /** Reads and validates the settings; throws {@link ConfigException} listing every bad one. */
  public static SpoolConfig fromEnv(Map<String, String> env) {
    var s = new Settings(env);
    int visibilitySecs = s.integer(IntSettings.VISIBILITY_TIMEOUT_SECS);
    var config =
        new SpoolConfig(
            pg(s),
            redis(s),
            new Gateway(
                s.integer(IntSettings.HTTP_PORT),
                s.integer(
                    "SPOOL_HTTP_INSTANCES", Runtime.getRuntime().availableProcessors(), 1, 64)),
            new Worker(
                s.list(
                    "SPOOL_QUEUES",
                    List.of(Names.DEFAULT_QUEUE),
                    q -> Names.QUEUE.matcher(q).matches(),
                    Names.NAME_RULE),
                s.list(
                    "SPOOL_WORKER_TYPES",
                    List.of(),
                    t -> Names.JOB_TYPE.matcher(t).matches(),
                    Names.NAME_RULE),
                s.integer(IntSettings.WORKER_CONCURRENCY),
                Duration.ofSeconds(visibilitySecs),
                Duration.ofSeconds(
                    s.integer(
                        "SPOOL_HEARTBEAT_SECS", defaultHeartbeatSecs(visibilitySecs), 1, 3_600)),
                Duration.ofSeconds(s.integer(IntSettings.SHUTDOWN_GRACE_SECS))),
            new Jobs(
                s.integer(IntSettings.MAX_ATTEMPTS),
                Duration.ofSeconds(s.integer(IntSettings.JOB_TIMEOUT_SECS)),
                Duration.ofMillis(s.integer(IntSettings.RETRY_BASE_MILLIS)),
                Duration.ofMillis(s.integer(IntSettings.RETRY_MAX_MILLIS)),
                Duration.ofSeconds(s.integer(IntSettings.IDEMPOTENCY_TTL_SECS))),
            new Events(
                Duration.ofSeconds(s.integer(IntSettings.EVENT_RETENTION_SECS)),
                Duration.ofMillis(s.integer(IntSettings.EVENT_COALESCE_MILLIS)),
                s.integer(IntSettings.EVENT_LOG_MAX)),
            new Webhooks(
                s.secrets("SPOOL_WEBHOOK_SECRET", 16),
                s.list(
                    Webhooks.ALLOW_SETTING,
                    List.of(),
                    h -> Names.HOST.matcher(h).matches(),
                    "a host name or IP address, or *.domain"),
                s.integer(IntSettings.WEBHOOK_MAX_ATTEMPTS),
                Duration.ofMillis(s.integer(IntSettings.WEBHOOK_RETRY_BASE_MILLIS)),
                Duration.ofMillis(s.integer(IntSettings.WEBHOOK_RETRY_MAX_MILLIS)),
                Duration.ofSeconds(s.integer(IntSettings.WEBHOOK_TIMEOUT_SECS)),
                s.integer(IntSettings.WEBHOOK_CONCURRENCY)),
            new HttpJobs(
                s.list(
                    HttpJobs.ALLOW_SETTING,
                    List.of(),
                    h -> Names.HOST.matcher(h).matches(),
                    "a host name or IP address, or *.domain"),
                Duration.ofSeconds(s.integer(IntSettings.HTTP_TIMEOUT_SECS)),
                s.integer(IntSettings.HTTP_MAX_RESPONSE_BYTES)),
            new Llm(
                s.url("SPOOL_LLM_BASE_URL", null, "http", "https"),
                s.secret("SPOOL_LLM_API_KEY"),
                Duration.ofSeconds(s.integer(IntSettings.LLM_IDLE_TIMEOUT_SECS))),
            new Auth(
                s.secrets("SPOOL_API_KEYS", 0),
                s.string("SPOOL_API_KEYS_FILE", null, Pattern.compile(".{1,4096}"), "a file path"),
                s.string("SPOOL_AUTH", "keys", Pattern.compile("keys|none"), "keys or none")
                    .equals("none"),
                s.secrets("SPOOL_WORKER_KEYS", 0),
                s.string(
                    "SPOOL_WORKER_KEYS_FILE", null, Pattern.compile(".{1,4096}"), "a file path")),
            limits(s),
            new Connections(
                Duration.ofSeconds(s.integer(IntSettings.HTTP_HEADER_TIMEOUT_SECS)),
                Duration.ofSeconds(s.integer(IntSettings.HTTP_BODY_TIMEOUT_SECS)),
                Duration.ofSeconds(s.integer(IntSettings.HTTP_IDLE_TIMEOUT_SECS))),
            new Ops(
                s.integer(IntSettings.METRICS_PORT),
                s.secret("SPOOL_METRICS_TOKEN"),
                Duration.ofSeconds(s.integer(IntSettings.STATS_INTERVAL_SECS)),
                Duration.ofSeconds(s.integer(IntSettings.QUEUE_STATS_SECS)),
                s.string("SPOOL_LOG_FORMAT", "text", Pattern.compile("text|json"), "text or json")
                    .equals("json")),
            new Retention(
                Duration.ofSeconds(s.integer(IntSettings.RETENTION_COMPLETED_SECS)),
                Duration.ofSeconds(s.integer(IntSettings.RETENTION_CANCELLED_SECS)),
                Duration.ofSeconds(s.integer(IntSettings.RETENTION_FAILED_SECS)),
                Duration.ofSeconds(s.integer(IntSettings.RETENTION_JOB_MAX_SECS)),
                Duration.ofSeconds(s.integer(IntSettings.PRUNE_INTERVAL_SECS)),
                s.integer(IntSettings.PRUNE_BATCH)));
    // Only a heartbeat set explicitly can fail this: the derived one is always below the timeout.
    if (config.worker().heartbeatInterval().compareTo(config.worker().visibilityTimeout()) >= 0) {
      s.problem(
          "SPOOL_HEARTBEAT_SECS ("
              + config.worker().heartbeatInterval().toSeconds()
              + ") must be below SPOOL_VISIBILITY_TIMEOUT_SECS ("
              + config.worker().visibilityTimeout().toSeconds()
              + ")");
    }
    s.check();
    return config;
  }

  private static Redis redis(Settings s) {
    RedisMode mode =
        RedisMode.valueOf(
            s.string(
                    "SPOOL_REDIS_MODE",
                    "standalone",
                    Pattern.compile("standalone|cluster|sentinel"),
                    "standalone, cluster or sentinel")
                .toUpperCase(java.util.Locale.ROOT));
    List<String> urls = s.urls("SPOOL_REDIS_URL", DEFAULT_REDIS_URL, "redis", "rediss");
    if (mode == RedisMode.STANDALONE && urls.size() > 1) {
      s.problem(
          "SPOOL_REDIS_URL lists "
              + urls.size()
              + " servers: a standalone Redis has one (set SPOOL_REDIS_MODE=cluster for a"
              + " cluster's seed nodes, or sentinel for Sentinels)");
    }
    return new Redis(
        mode,
        urls,
        s.string(
            "SPOOL_REDIS_MASTER",
            DEFAULT_REDIS_MASTER,
            Pattern.compile("[A-Za-z0-9._-]{1,128}"),
            "a Sentinel master name such as mymaster"),
        s.string("SPOOL_KEY_PREFIX", DEFAULT_KEY_PREFIX, Names.KEY_PREFIX, Names.KEY_PREFIX_RULE),
        s.integer("SPOOL_QUEUE_SHARDS", 1, 1, Keys.MAX_SHARDS),
        s.string("SPOOL_REDIS_CA_FILE", null, Pattern.compile(".{1,4096}"), "a file path"));
  }

  private static Pg pg(Settings s) {
    String url = s.url("SPOOL_PG_URL", DEFAULT_PG_URL, "postgresql", "postgres");
    String directUrl = s.url("SPOOL_PG_DIRECT_URL", url, "postgresql", "postgres");
    var pooler =
        Pg.Pooler.valueOf(
            s.string(
                    "SPOOL_PG_POOLER",
                    "none",
                    Pattern.compile("none|transaction"),
                    "none or transaction")
                .toUpperCase(java.util.Locale.ROOT));
    if (pooler == Pg.Pooler.TRANSACTION && directUrl.equals(url)) {
      s.problem(
          "SPOOL_PG_POOLER=transaction needs SPOOL_PG_DIRECT_URL: a URL of the same database that"
              + " bypasses the pooler, for each worker's LISTEN connection and the migrations"
              + " (a transaction pooler keeps neither)");
    }
    return new Pg(
        url,
        s.string(
            "SPOOL_PG_SCHEMA",
            DEFAULT_PG_SCHEMA,
            Names.PG_SCHEMA,
            "a lower-case identifier such as spool"),
        s.integer(IntSettings.PG_POOL_SIZE),
        directUrl,
        pooler,
        s.string("SPOOL_PG_LISTEN", "on", Pattern.compile("on|off"), "on or off").equals("on"));
  }

  private static Limits limits(Settings s) {
    int rate = s.integer(IntSettings.RATE_LIMIT);
    return new Limits(
        s.integer(IntSettings.QUEUE_LIMIT),
        rate,
        s.integer("SPOOL_RATE_BURST", Math.max(1, 2 * rate), 1, 10_000_000));
  }

  public Keys keys() {
    return new Keys(redis.keyPrefix(), redis.queueShards(), redis.mode() == RedisMode.CLUSTER);
  }
}
