package io.spool.gateway;

import io.spool.model.JobEvents;
import io.spool.model.QueueSignals;
import io.spool.model.SpoolConfig;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.redis.client.Redis;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlClient;

/** One HTTP server instance on one event loop; {@link Gateway} deploys one per core. */
final class GatewayVerticle extends VerticleBase {
  private final SpoolConfig config;
  private final SqlClient pg;
  /** For the few submissions that need a transaction (idempotency keys). */
  private final Pool transactions;
  private final Redis redis;
  private final JobTypes types;
  private final EventHub hub;
  private final ApiKeys keys;
  private final RateLimiter limiter;
  private final PendingJobs pending;

  GatewayVerticle(SpoolConfig config, ApiKeys keys, RateLimiter limiter, PendingJobs pending, SqlClient pg,
      Pool transactions, Redis redis, JobTypes types, EventHub hub) {
    this.config = config;
    this.keys = keys;
    this.limiter = limiter;
    this.pending = pending;
    this.transactions = transactions;
    this.pg = pg;
    this.redis = redis;
    this.types = types;
    this.hub = hub;
  }

  @Override
  public Future<?> start() {
    // Each instance batches its own inserts on its own event loop: no state crosses threads.
    var signals = QueueSignals.of(redis, pg, config);
    var submitter = new JobSubmitter(context, pg, transactions, signals, config.idempotencyTtl());
    var events = JobEvents.of(redis, config);
    var streams = new JobStreams(vertx, pg, new EventFeed(vertx, pg, events, hub), hub);
    var jobs = new JobsHandler(pg, redis, config.keys(), signals, events, streams, submitter, types,
        new SubmissionParser(config), pending);
    var router = ApiRoutes.router(vertx, keys, limiter, jobs, streams, new Health(pg, redis));
    return vertx.createHttpServer(new HttpServerOptions().setPort(config.httpPort()).setTcpNoDelay(true))
        .requestHandler(router)
        .invalidRequestHandler(ApiRoutes::invalidRequest)
        .listen();
  }
}
