package io.spool.gateway;

import io.spool.attempt.AttemptFinisher;
import io.spool.config.SpoolConfig;
import io.spool.ops.OpsEndpoints;
import io.spool.ops.QueueStatsSampler;
import io.spool.ops.SpoolMetrics;
import io.spool.signal.ConsumerGroup;
import io.spool.signal.DelayedSignalPromoter;
import io.spool.signal.JobEvents;
import io.spool.signal.QueueSignals;
import io.spool.signal.RedisClients;
import io.spool.signal.SignalClaimer;
import io.spool.store.IdempotencySql;
import io.spool.store.Migrations;
import io.spool.store.PgClients;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.redis.client.Redis;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.templates.SqlTemplate;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running gateway: its Vert.x, clients and HTTP verticles. The composition root of the gateway.
 */
public final class Gateway implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Gateway.class);
  private static final int TRANSACTION_POOL_SIZE = 4;

  /** Connections for the batched job reads (JobReader): each carries many reads per statement. */
  private static final int READ_POOL_SIZE = 2;

  /**
   * Redis connections for remote workers' waiting claims (each waits on one, blocked in
   * XREADGROUP); more claims than this wait for a connection.
   */
  private static final int CLAIM_CONNECTIONS = 256;

  private static final long KEY_SWEEP_MILLIS = 5 * 60_000;
  private static final int KEY_SWEEP_BATCH = 10_000;

  private final Vertx vertx;
  private final SqlClient pg;
  private final Redis redis;

  private Gateway(Vertx vertx, SqlClient pg, Redis redis) {
    this.vertx = vertx;
    this.pg = pg;
    this.redis = redis;
  }

  /** Migrates the schema, then serves HTTP on {@code SPOOL_HTTP_PORT}; blocks until listening. */
  public static Gateway start(SpoolConfig config) {
    ApiKeys keys = ApiKeys.load(config.auth());
    ApiKeys workerKeys = ApiKeys.loadWorkerKeys(config.auth(), keys);
    if (keys.disabled()) {
      log.warn(
          "SPOOL_AUTH=none: the API asks for no key and every caller is the user '{}'",
          ApiKeys.ANONYMOUS);
    }
    Migrations.apply(config);
    var metrics = new SpoolMetrics();
    Vertx vertx = metrics.newVertx(new VertxOptions().setPreferNativeTransport(true));
    try {
      SqlClient pg = PgClients.client(vertx, config);
      PgClients.requireSchema(pg, config);
      Redis redis = RedisClients.client(vertx, config, 8);
      var types = new JobTypes(pg);
      types.refresh().await(10, TimeUnit.SECONDS);
      vertx.setPeriodic(5000, id -> types.refresh());
      Pool transactions = PgClients.pool(vertx, config, TRANSACTION_POOL_SIZE);
      vertx.setPeriodic(KEY_SWEEP_MILLIS, id -> sweepExpiredKeys(pg));
      // One subscription per process for every watched job, on a Redis connection of its own.
      // Shared by the event loops: one count of pending jobs, one set of local rate buckets.
      var pending = PendingJobs.counting(vertx, pg, config.limits().queueLimit());
      var limiter = new RateLimiter(redis, config.keys(), config.limits());
      var hub = new EventHub(vertx, RedisClients.client(vertx, config, 1), config.keys());
      var queues = QueueStatsSampler.start(vertx, pg, redis, config, metrics);
      var ops = new OpsEndpoints(metrics, config.ops().metricsToken(), pg, redis);
      // Batched reads by id, planned at every call (see PgClients.replanningClient).
      SqlClient reads = PgClients.replanningClient(vertx, config, READ_POOL_SIZE);
      // The batches every event loop shares live on one context; each caller gets its answer on its
      // own loop.
      // Measured with 2 loops and 64 long-polling callers: 2.2 rows per INSERT and 1.3 ids per read
      // with a
      // batch per loop, 3.6 and 2.2 with one shared; Postgres CPU per job 455-507 -> 297-366 us.
      var batching = vertx.getOrCreateContext();
      var signals = QueueSignals.of(redis, pg, config);
      // Delayed signals (retries, run_at) of the queues registered workers consume, so delays work
      // where only remote workers run (a Java worker promotes them too).
      vertx
          .deployVerticle(new DelayedSignalPromoter(signals, pg, List.of()))
          .await(30, TimeUnit.SECONDS);
      var submitter =
          new JobSubmitter(
              batching, pg, transactions, signals, config.jobs().idempotencyTtl(), metrics);
      var reader = new JobReader(batching, reads, metrics);
      var events = JobEvents.of(redis, config);
      var workers =
          new WorkerProtocol(
              pg,
              new RemoteClaims(
                  vertx,
                  pg,
                  redis,
                  RedisClients.client(vertx, config, CLAIM_CONNECTIONS),
                  new SignalClaimer(pg, signals, new ConsumerGroup(redis, config.keys())),
                  config.keys(),
                  config.worker().visibilityTimeout()),
              new AttemptFinisher(batching, pg, signals, events, metrics),
              events,
              signals,
              types,
              metrics,
              config);
      var shared =
          new GatewayVerticle.Shared(
              keys,
              workerKeys,
              limiter,
              pending,
              pg,
              transactions,
              redis,
              types,
              hub,
              metrics,
              queues,
              ops,
              signals,
              submitter,
              reader,
              events,
              workers);
      vertx
          .deployVerticle(
              () -> new GatewayVerticle(config, shared),
              new DeploymentOptions().setInstances(config.gateway().instances()))
          .await(30, TimeUnit.SECONDS);
      log.info(
          "gateway listening on port {} ({} event loops), Postgres schema '{}', Redis {} key prefix '{}' ({} shards per queue)",
          config.gateway().port(),
          config.gateway().instances(),
          config.pg().schema(),
          config.redis().mode().name().toLowerCase(java.util.Locale.ROOT),
          config.redis().keyPrefix(),
          config.redis().queueShards());
      return new Gateway(vertx, pg, redis);
    } catch (Exception e) {
      vertx.close();
      throw new IllegalStateException("gateway failed to start: " + e.getMessage(), e);
    }
  }

  /**
   * Deletes expired idempotency keys, a batch at a time; every gateway does it, which is harmless.
   */
  private static void sweepExpiredKeys(SqlClient pg) {
    SqlTemplate.forQuery(pg, IdempotencySql.SWEEP)
        .execute(Map.of("max", KEY_SWEEP_BATCH))
        .onComplete(
            done -> {
              if (done.succeeded() && done.result().rowCount() == KEY_SWEEP_BATCH) {
                sweepExpiredKeys(pg);
              } else if (done.failed()) {
                log.debug("sweeping expired idempotency keys failed: {}", done.cause().toString());
              }
            });
  }

  /** Stops serving and closes every connection. */
  @Override
  public void close() {
    try {
      vertx.close().await(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      log.warn("gateway did not close cleanly: {}", e.toString());
    }
  }

  SqlClient pg() {
    return pg;
  }

  Redis redis() {
    return redis;
  }
}
