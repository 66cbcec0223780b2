package io.spool.worker;

import io.micrometer.core.instrument.Gauge;
import io.spool.attempt.AttemptFinisher;
import io.spool.attempt.RetryBackoff;
import io.spool.attempt.ReturnedJobs;
import io.spool.config.PortInUseException;
import io.spool.config.SpoolConfig;
import io.spool.handler.JobHandler;
import io.spool.ops.OpsEndpoints;
import io.spool.ops.QueueStatsSampler;
import io.spool.ops.SpoolMetrics;
import io.spool.signal.ConsumerGroup;
import io.spool.signal.DelayedSignalPromoter;
import io.spool.signal.JobEvents;
import io.spool.signal.QueueSignals;
import io.spool.signal.RedisClients;
import io.spool.signal.SignalClaimer;
import io.spool.store.ClaimSql;
import io.spool.store.LeaseSql;
import io.spool.store.Migrations;
import io.spool.store.PgClients;
import io.spool.store.WebhookSql;
import io.spool.store.WorkerSql;
import io.spool.worker.builtin.HttpHandler;
import io.spool.worker.builtin.LlmHandler;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.PoolOptions;
import io.vertx.pgclient.pubsub.PgSubscriber;
import io.vertx.redis.client.Redis;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.templates.SqlTemplate;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/** A running worker process: the composition root of the worker daemon. */
public final class Worker implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Worker.class);

  /** Pooled Redis connections for acks and signals; the fetcher's blocking read has one more. */
  private static final int REDIS_POOL_SIZE = 4;

  /**
   * After the grace, how long interrupted handlers get to return before their jobs are handed back.
   */
  private static final Duration HANDLER_STOP_WAIT = Duration.ofSeconds(5);

  private final Vertx vertx;
  private final String id;
  private final SpoolConfig config;
  private final SqlClient pg;
  private final QueueSignals signals;
  private final JobEvents events;
  private final JobRunner runner;
  private final JobDispatcher dispatcher;
  private final String fetcherDeployment;
  private final int metricsPort;

  private Worker(
      Vertx vertx,
      String id,
      SpoolConfig config,
      SqlClient pg,
      QueueSignals signals,
      JobEvents events,
      JobRunner runner,
      JobDispatcher dispatcher,
      String fetcherDeployment,
      int metricsPort) {
    this.metricsPort = metricsPort;
    this.events = events;
    this.dispatcher = dispatcher;
    this.vertx = vertx;
    this.id = id;
    this.config = config;
    this.pg = pg;
    this.signals = signals;
    this.runner = runner;
    this.fetcherDeployment = fetcherDeployment;
  }

  /**
   * Every job is inserted and updated twice, so the jobs table and its indexes fill with dead row
   * versions that only a vacuum clears; without autovacuum, claims, finishes and inserts slow down
   * as they pile up. Spool does not vacuum on its own: it says so, once, at start.
   */
  private static void warnIfAutovacuumOff(io.vertx.sqlclient.SqlClient pg) {
    try {
      var row =
          pg.query(
                  "SELECT current_setting('autovacuum') = 'on' AS on_, coalesce((SELECT option_value = 'false' "
                      + "FROM pg_class c, pg_options_to_table(c.reloptions) WHERE c.oid = to_regclass('jobs') "
                      + "AND option_name = 'autovacuum_enabled'), false) AS off_for_jobs")
              .execute()
              .await(10, TimeUnit.SECONDS)
              .iterator()
              .next();
      if (!row.getBoolean("on_") || row.getBoolean("off_for_jobs")) {
        log.warn(
            "Postgres autovacuum is off{}: dead rows of the jobs table are never cleared, and claims, "
                + "finishes and inserts slow down as they pile up. Turn it on: {}",
            row.getBoolean("on_") ? " for the jobs table" : "",
            row.getBoolean("on_")
                ? "ALTER TABLE jobs RESET (autovacuum_enabled)"
                : "autovacuum = on in postgresql.conf, then reload");
      }
    } catch (RuntimeException | java.util.concurrent.TimeoutException e) {
      log.debug("could not read the autovacuum setting: {}", e.toString());
    }
  }

  /**
   * Migrates, registers its job types, heartbeats, and starts the slots, the lease reaper and the
   * fetcher; blocks until running.
   */
  public static Worker start(SpoolConfig config) {
    Migrations.apply(config);
    String id = newWorkerId();
    var metrics = new SpoolMetrics();
    Vertx vertx = metrics.newVertx(new VertxOptions().setPreferNativeTransport(true));
    try {
      HandlerRegistry handlers =
          HandlerRegistry.load(builtins(vertx, config), config.worker().types());
      var pg = PgClients.client(vertx, config);
      PgClients.requireSchema(pg, config);
      var redis = RedisClients.client(vertx, config, REDIS_POOL_SIZE);
      // Before it registers anything: a worker that cannot serve its port must not count as alive.
      int metricsPort = serveOps(vertx, config, metrics, pg, redis);
      SqlTemplate.forQuery(pg, WorkerSql.REGISTER_TYPES)
          .execute(Map.of("types", handlers.types().toArray(String[]::new)))
          .await(30, TimeUnit.SECONDS);
      warnIfAutovacuumOff(pg);
      var signals = QueueSignals.of(redis, pg, config);
      var events = JobEvents.of(redis, config);
      // The finisher's batches live on one event-loop context of their own.
      var runner =
          new JobRunner(
              vertx,
              pg,
              handlers,
              new AttemptFinisher(vertx.getOrCreateContext(), pg, signals, events, metrics),
              new RetryBackoff(config.jobs().retryBase(), config.jobs().retryMax()),
              new EventBatcher(events, vertx.getOrCreateContext()),
              config.events().coalesce(),
              metrics);
      // Registered and alive before it claims anything.
      var dispatcher = new JobDispatcher();
      var heartbeat =
          new Heartbeat(
              pg,
              id,
              config.worker().queues(),
              handlers.types(),
              config.worker().concurrency(),
              config.worker().heartbeatInterval(),
              runner,
              stillMine -> {
                dispatcher.dropReadyBut(stillMine);
                runner.abandonAllBut(stillMine);
              });
      vertx.deployVerticle(heartbeat).await(30, TimeUnit.SECONDS);
      // After the first heartbeat: the first sample of live workers counts this one.
      watchQueues(vertx, config, metrics, runner, pg, redis);
      vertx
          .deployVerticle(
              new LeaseReaper(
                  pg,
                  redis,
                  config.keys(),
                  config.worker().visibilityTimeout(),
                  signals,
                  heartbeat,
                  events))
          .await(30, TimeUnit.SECONDS);
      vertx
          .deployVerticle(new DelayedSignalPromoter(signals, pg, config.worker().queues()))
          .await(30, TimeUnit.SECONDS);
      var virtual = new DeploymentOptions().setThreadingModel(ThreadingModel.VIRTUAL_THREAD);
      if (!config.retention().pruneInterval().isZero()) {
        vertx
            .deployVerticle(
                new JobPruner(pg, config.retention(), config.pg().schema(), metrics), virtual)
            .await(30, TimeUnit.SECONDS);
      }
      // Subscriptions and blocking reads get Redis clients of their own, never the shared pool's.
      vertx
          .deployVerticle(
              new CancelListener(RedisClients.client(vertx, config, 1), config.keys(), runner))
          .await(30, TimeUnit.SECONDS);
      vertx
          .deployVerticle(
              () -> new JobSlot(dispatcher, runner),
              new DeploymentOptions(virtual).setInstances(config.worker().concurrency()))
          .await(60, TimeUnit.SECONDS);
      var postgres = new PostgresClaimer(vertx, pg, config.worker().queues(), handlers.types(), id);
      // NOTIFY on the wake channel: a job was submitted or requeued while its signal could not
      // reach Redis. LISTEN lives in a session: on a connection of its own, past any pooler, and
      // only if SPOOL_PG_LISTEN allows it (the claimer's and sender's polls find the rest anyway).
      var wakeups =
          PgSubscriber.subscriber(vertx, PgClients.directConnectOptions(config))
              .reconnectPolicy(retries -> 1000L);
      wakeups.channel(ClaimSql.wakeChannel(config)).handler(payload -> postgres.wake());
      if (config.webhooks().secrets().isEmpty()) {
        log.warn(
            "SPOOL_WEBHOOK_SECRET is not set: this worker delivers no webhooks (they wait, visible on their jobs)");
      } else {
        var webhooks =
            new WebhookSender(pg, config.webhooks(), id, vertx.getOrCreateContext(), metrics);
        // NOTIFY on the webhook channel: a job with a callback ended.
        wakeups.channel(WebhookSql.channel(config)).handler(payload -> webhooks.wake());
        vertx.deployVerticle(webhooks, virtual).await(30, TimeUnit.SECONDS);
      }
      if (config.pg().listen()) {
        wakeups.connect().await(30, TimeUnit.SECONDS);
      }
      var reconciler = new Reconciler(redis, pg, config.keys(), signals, id);
      // The blocking XREADGROUPs get a client of their own: one connection, or on a cluster one
      // per queue shard (to each master: the client's pool is per node).
      var reader =
          new SignalReader(
              RedisClients.client(
                  vertx,
                  config,
                  config.keys().cluster()
                      ? config.keys().shardsOf(config.worker().queues()).size()
                      : 1),
              redis,
              config.keys(),
              config.worker().queues(),
              handlers.types(),
              id,
              config.worker().visibilityTimeout());
      String fetcher =
          vertx
              .deployVerticle(
                  new StreamFetcher(
                      reader,
                      new SignalClaimer(pg, signals, new ConsumerGroup(redis, config.keys())),
                      postgres,
                      reconciler,
                      dispatcher,
                      events,
                      redis,
                      config.worker().visibilityTimeout(),
                      id,
                      handlers.types()),
                  virtual)
              .await(30, TimeUnit.SECONDS);
      log.info(
          "worker {} running {} slots on queues {} with job types {}; /metrics and /health on port {}",
          id,
          config.worker().concurrency(),
          config.worker().queues(),
          handlers.types(),
          metricsPort);
      if (config.keys().shards() > 1) {
        // Their names for KEDA triggers: each tag's streams are <tag>:t:<type>[:high|:low].
        log.info(
            "queue shards (hash tags of the streams read): {}",
            config.keys().shardsOf(config.worker().queues()).stream()
                .map(shard -> config.keys().queueTag(shard.queue(), shard.index()))
                .toList());
      }
      return new Worker(
          vertx, id, config, pg, signals, events, runner, dispatcher, fetcher, metricsPort);
    } catch (Exception e) {
      vertx.close();
      throw new IllegalStateException("worker failed to start: " + e.getMessage(), e);
    }
  }

  /**
   * Serves {@code /metrics} and {@code /health/*} on {@code SPOOL_METRICS_PORT}; answers the port
   * (a free one if the setting is 0).
   */
  private static int serveOps(
      Vertx vertx, SpoolConfig config, SpoolMetrics metrics, SqlClient pg, Redis redis)
      throws TimeoutException {
    var endpoints = new OpsEndpoints(metrics, config.ops().metricsToken(), pg, redis);
    return vertx
        .createHttpServer()
        .requestHandler(
            request -> {
              if (!endpoints.serve(request)) {
                request
                    .response()
                    .setStatusCode(404)
                    .putHeader("Content-Type", "application/problem+json")
                    .end(
                        "{\"type\":\"about:blank\",\"title\":\"Not found\",\"status\":404,"
                            + "\"detail\":\"this port serves /metrics, /health/live and /health/ready\"}");
              }
            })
        .listen(config.ops().metricsPort())
        .recover(
            e ->
                Future.failedFuture(
                    PortInUseException.explain(
                        e, "SPOOL_METRICS_PORT", config.ops().metricsPort(), true)))
        .await(30, TimeUnit.SECONDS)
        .actualPort();
  }

  /**
   * Registers this worker's gauges, samples the queues for the shared ones, and logs the stats
   * line.
   */
  private static void watchQueues(
      Vertx vertx,
      SpoolConfig config,
      SpoolMetrics metrics,
      JobRunner runner,
      SqlClient pg,
      Redis redis) {
    var registry = metrics.registry();
    Gauge.builder("spool.worker.jobs.running", runner, JobRunner::inFlight)
        .description("attempts running on this worker")
        .register(registry);
    Gauge.builder("spool.worker.slots", config, c -> c.worker().concurrency())
        .description("job slots of this worker (SPOOL_WORKER_CONCURRENCY)")
        .register(registry);
    var queues = QueueStatsSampler.start(vertx, pg, redis, config, metrics);
    if (!config.ops().statsInterval().isZero()) {
      var stats =
          new StatsReporter(metrics, queues, runner::inFlight, config.worker().concurrency());
      vertx.setPeriodic(config.ops().statsInterval().toMillis(), id -> stats.report());
    }
  }

  /**
   * The built-in job types that need this worker's clients and settings: {@code http}, and {@code
   * llm} if configured.
   */
  private static List<JobHandler> builtins(Vertx vertx, SpoolConfig config) {
    var pool = new PoolOptions().setHttp1MaxSize(Math.min(config.worker().concurrency(), 1000));
    var handlers = new ArrayList<JobHandler>();
    // Redirects are never followed: one could point at an address the SSRF rules forbid.
    var http =
        vertx.createHttpClient(new HttpClientOptions().setMaxRedirects(0).setForceSni(true), pool);
    handlers.add(new HttpHandler(vertx, http, config.httpJobs()));
    if (config.llm().enabled()) {
      handlers.add(
          new LlmHandler(
              vertx.createHttpClient(new HttpClientOptions().setForceSni(true), pool),
              config.llm()));
    }
    return handlers;
  }

  public String id() {
    return id;
  }

  /** The port serving {@code /metrics} and {@code /health/*}. */
  public int metricsPort() {
    return metricsPort;
  }

  /**
   * Stops gracefully: claims nothing more, lets running jobs finish for up to the shutdown grace,
   * stops the handlers still running (and the jobs claimed but not started), and only then hands
   * their jobs back to pending at once, so another worker takes them without waiting for the
   * visibility timeout and never while they still run here. Then it leaves the worker registry and
   * closes. Blocking; not for a Vert.x thread.
   */
  @Override
  public void close() {
    try {
      vertx.undeploy(fetcherDeployment).await(10, TimeUnit.SECONDS);
      awaitIdle(config.worker().shutdownGrace());
      dispatcher.dropReady();
      runner.interruptHandlers();
      awaitIdle(HANDLER_STOP_WAIT);
      var handedBack =
          SqlTemplate.forQuery(pg, LeaseSql.HAND_BACK)
              .execute(Map.of("worker", id))
              .await(10, TimeUnit.SECONDS);
      if (handedBack.size() > 0) {
        log.info("worker {} handed {} running jobs back", id, handedBack.size());
      }
      ReturnedJobs.announce(handedBack, "was handed back", Level.INFO, events, signals)
          .await(10, TimeUnit.SECONDS);
      SqlTemplate.forQuery(pg, WorkerSql.DELETE_WORKER)
          .execute(Map.of("worker", id))
          .await(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (VirtualMachineError e) {
      throw e;
    } catch (Throwable e) {
      // What could not be handed back, the lease reaper of another worker returns after the
      // timeout.
      log.warn("worker {} could not hand its jobs back cleanly: {}", id, e.toString());
    }
    runner.close();
    try {
      vertx.close().await(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      log.warn("worker did not close cleanly: {}", e.toString());
    }
  }

  private void awaitIdle(Duration limit) throws InterruptedException {
    long deadline = System.nanoTime() + limit.toNanos();
    while (runner.inFlight() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
  }

  /** host-pid-random: unique across restarts, and says where to look. */
  private static String newWorkerId() {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (Exception e) {
      host = "unknown";
    }
    String pid = ManagementFactory.getRuntimeMXBean().getName().split("@")[0];
    return host
        + "-"
        + pid
        + "-"
        + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 24), 36);
  }
}
