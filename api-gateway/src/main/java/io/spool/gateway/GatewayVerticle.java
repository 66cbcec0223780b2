package io.spool.gateway;

import io.spool.config.PortInUseException;
import io.spool.config.SpoolConfig;
import io.spool.ops.OpsEndpoints;
import io.spool.ops.QueueStatsSampler;
import io.spool.ops.SpoolMetrics;
import io.spool.signal.JobEvents;
import io.spool.signal.QueueSignals;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.redis.client.Redis;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlClient;

/** One HTTP server instance on one event loop; {@link Gateway} deploys one per core. */
final class GatewayVerticle extends VerticleBase {
  /**
   * What every event loop of the process shares.
   *
   * @param transactions for the few submissions that need a transaction (idempotency keys)
   * @param hub one Redis subscription per process for every watched job
   * @param submitter one insert batch for every event loop: with one per loop, each carried half as
   *     many rows
   * @param reader one batch of reads by id for every event loop, for the same reason
   * @param workers the worker protocol, whose finishes batch on one context for every event loop
   */
  record Shared(
      ApiKeys keys,
      ApiKeys workerKeys,
      RateLimiter limiter,
      PendingJobs pending,
      SqlClient pg,
      Pool transactions,
      Redis redis,
      JobTypes types,
      EventHub hub,
      SpoolMetrics metrics,
      QueueStatsSampler queues,
      OpsEndpoints ops,
      QueueSignals signals,
      JobSubmitter submitter,
      JobReader reader,
      JobEvents events,
      WorkerProtocol workers) {}

  private final SpoolConfig config;
  private final Shared shared;

  GatewayVerticle(SpoolConfig config, Shared shared) {
    this.config = config;
    this.shared = shared;
  }

  @Override
  public Future<?> start() {
    var s = shared;
    var signals = s.signals();
    var events = s.events();
    var streams =
        new JobStreams(vertx, s.pg(), new EventFeed(vertx, s.pg(), events, s.hub()), s.hub());
    var submissions =
        new SubmissionHandler(new SubmissionParser(config), s.types(), s.pending(), s.submitter());
    var queries = new JobQueryHandler(s.pg(), s.reader(), streams);
    var controls = new JobControlHandler(s.pg(), signals, events, s.metrics());
    var router =
        ApiRoutes.router(
            vertx,
            s.keys(),
            s.workerKeys(),
            s.limiter(),
            submissions,
            queries,
            controls,
            streams,
            new QueuesHandler(s.queues()),
            s.workers(),
            s.ops());
    var guard = ConnectionGuard.install(vertx, context, config.connections(), s.metrics());
    // HTTP/1.1 and WebSockets only: without h2c a connection is known from its first moment, so the
    // guard can bound a client that connects and sends nothing. HTTP/2 belongs at the ingress.
    return vertx
        .createHttpServer(
            new HttpServerOptions()
                .setPort(config.gateway().port())
                .setTcpNoDelay(true)
                .setHttp2ClearTextEnabled(false)
                .setPerMessageWebSocketCompressionSupported(false)
                .setPerFrameWebSocketCompressionSupported(false))
        .connectionHandler(guard::opened)
        .requestHandler(
            request -> {
              guard.begin(request);
              router.handle(request);
            })
        .invalidRequestHandler(
            request -> {
              guard.invalid(request);
              ApiRoutes.invalidRequest(request);
            })
        .listen()
        .recover(
            e ->
                Future.failedFuture(
                    PortInUseException.explain(
                        e, "SPOOL_HTTP_PORT", config.gateway().port(), false)));
  }
}
