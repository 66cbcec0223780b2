package io.spool.gateway;

import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.spool.ops.OpsEndpoints;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.ClosedConnectionException;
import java.net.ConnectException;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The whole route table, in one method that tests reuse. */
public final class ApiRoutes {
  private static final Logger log = LoggerFactory.getLogger(ApiRoutes.class);

  /** Largest request body accepted; larger ones get 413. */
  public static final long MAX_BODY_BYTES = 1024 * 1024;

  private static final String USER = "spool.user";

  /** Set by {@link #identify}: whether the request is on a worker route. */
  private static final String WORKER_ROUTE = "spool.worker-route";

  /** Paths of the worker protocol: worker keys only. Every other /v1 path: user keys only. */
  private static final java.util.regex.Pattern WORKER_PATH =
      java.util.regex.Pattern.compile("/v1/workers(/.*)?|/v1/jobs/[^/]+/attempts(/.*)?");

  private ApiRoutes() {}

  static Router router(
      Vertx vertx,
      ApiKeys keys,
      ApiKeys workerKeys,
      RateLimiter limiter,
      SubmissionHandler submissions,
      JobQueryHandler queries,
      JobControlHandler controls,
      JobStreams streams,
      QueuesHandler queues,
      WorkerProtocol workers,
      OpsEndpoints ops) {
    Router router = Router.router(vertx);
    // Open, like every scrape target and probe: /metrics may ask for SPOOL_METRICS_TOKEN.
    router.get("/health/live").handler(ctx -> ops.live(ctx.request()));
    router.get("/health/ready").handler(ctx -> ops.ready(ctx.request()));
    router.get("/metrics").handler(ctx -> ops.metrics(ctx.request()));
    router.get("/openapi.json").handler(OpenApiDocument.load()::serve);
    DashboardRoutes.install(router);

    router.route("/v1/*").handler(ctx -> identify(keys, workerKeys, ctx));
    if (limiter.enabled()) {
      // Users' requests; workers' are bounded by their slots, and a limit would stall their jobs.
      router.route("/v1/*").handler(ctx -> limitUsers(limiter, ctx));
    }
    router
        .post("/v1/jobs")
        .handler(body())
        .handler(ApiRoutes::requireJson)
        .handler(submissions::submit);
    router
        .post("/v1/jobs/batch")
        .handler(body())
        .handler(ApiRoutes::requireJson)
        .handler(submissions::submitBatch);
    router.get("/v1/jobs").handler(queries::list);
    router.get("/v1/jobs/:id").handler(queries::get);
    router.get("/v1/jobs/:id/events").handler(streams::sse);
    router.get("/v1/jobs/:id/ws").handler(streams::webSocket);
    router.get("/v1/ws").handler(streams::multiJobWebSocket);
    router.post("/v1/jobs/:id/cancel").handler(controls::cancel);
    router.get("/v1/dlq").handler(queries::listDeadLetters);
    router.post("/v1/dlq/:id/requeue").handler(controls::requeue);
    router.delete("/v1/dlq/:id").handler(controls::discard);
    router.get("/v1/queues").handler(queues::get);

    // The worker protocol (docs/worker-protocol.md): remote workers, with worker keys.
    router
        .post("/v1/workers")
        .handler(body())
        .handler(ApiRoutes::requireJson)
        .handler(workers::register);
    router
        .post("/v1/workers/:wid/heartbeat")
        .handler(body())
        .handler(ApiRoutes::requireJson)
        .handler(workers::heartbeat);
    router
        .post("/v1/workers/:wid/claim")
        .handler(body())
        .handler(ApiRoutes::requireJson)
        .handler(workers::claim);
    router
        .post("/v1/workers/:wid/complete")
        .handler(body())
        .handler(ApiRoutes::requireJson)
        .handler(workers::completeMany);
    router.post("/v1/workers/:wid/drain").handler(workers::drain);
    router.delete("/v1/workers/:wid").handler(workers::leave);
    router
        .post("/v1/jobs/:id/attempts/:n/events")
        .handler(body())
        .handler(ApiRoutes::requireJson)
        .handler(workers::events);
    router
        .put("/v1/jobs/:id/attempts/:n/checkpoint")
        .handler(body())
        .handler(ApiRoutes::requireJson)
        .handler(workers::checkpoint);
    router.get("/v1/jobs/:id/attempts/:n/effects/:name").handler(workers::effect);
    router
        .put("/v1/jobs/:id/attempts/:n/effects/:name")
        .handler(body())
        .handler(ApiRoutes::requireJson)
        .handler(workers::recordEffect);
    router
        .post("/v1/jobs/:id/attempts/:n/complete")
        .handler(body())
        .handler(ApiRoutes::requireJson)
        .handler(workers::complete);
    router
        .post("/v1/jobs/:id/attempts/:n/fail")
        .handler(body())
        .handler(ApiRoutes::requireJson)
        .handler(workers::fail);

    router.route().failureHandler(ApiRoutes::failure);
    router.errorHandler(
        404,
        ctx ->
            Problem.notFound(
                    "no route "
                        + ctx.request().method()
                        + " "
                        + Problem.printable(ctx.request().path()))
                .send(ctx));
    router.errorHandler(
        405,
        ctx ->
            Problem.of(
                    405,
                    "method-not-allowed",
                    "Method not allowed",
                    ctx.request().method()
                        + " is not allowed on "
                        + Problem.printable(ctx.request().path()))
                .send(ctx));
    return router;
  }

  /** The calling user (or remote worker, on a worker route), named by the request's key. */
  static String user(RoutingContext ctx) {
    return ctx.get(USER);
  }

  /** Whether the request is one of the worker protocol's (worker keys, not user keys). */
  private static boolean isWorkerRoute(RoutingContext ctx) {
    return WORKER_PATH.matcher(ctx.request().path()).matches();
  }

  /**
   * Lets the request on as the user (or, on a worker route, the remote worker) its key names; a
   * missing or unknown key, or a key of the other side, is a 401.
   */
  private static void identify(ApiKeys keys, ApiKeys workerKeys, RoutingContext ctx) {
    boolean workerRoute = isWorkerRoute(ctx);
    ctx.put(WORKER_ROUTE, workerRoute);
    if (keys.disabled()) {
      ctx.put(USER, ApiKeys.ANONYMOUS);
      ctx.next();
      return;
    }
    String key = presentedKey(ctx);
    boolean given = key != null && !key.isEmpty();
    String name = !given ? null : (workerRoute ? workerKeys : keys).identify(key);
    if (name == null) {
      String detail;
      if (workerRoute && workerKeys.none()) {
        detail =
            "this gateway takes no remote workers: set SPOOL_WORKER_KEYS (key=name) to let them in";
      } else if (workerRoute) {
        detail =
            key == null
                ? "send a worker key (SPOOL_WORKER_KEYS) as Authorization: Bearer <key>"
                : given && keys.identify(key) != null
                    ? "this is a user key; the worker routes take a worker key (SPOOL_WORKER_KEYS)"
                    : "the worker key is not valid";
      } else {
        detail =
            key == null
                ? "send your API key as Authorization: Bearer <key>"
                : given && workerKeys.identify(key) != null
                    ? "this is a worker key; it opens only the worker routes, not the user API"
                    : "the API key is not valid";
      }
      // The same answer for a missing and a wrong key, and never the key itself.
      ctx.response().putHeader("WWW-Authenticate", "Bearer realm=\"spool\"");
      Problem.of(401, "unauthorized", "Unauthorized", detail).send(ctx);
      return;
    }
    ctx.put(USER, name);
    ctx.next();
  }

  /** The rate limit, on user routes only. */
  private static void limitUsers(RateLimiter limiter, RoutingContext ctx) {
    if (Boolean.TRUE.equals(ctx.get(WORKER_ROUTE))) {
      ctx.next();
    } else {
      limit(limiter, ctx);
    }
  }

  /**
   * Lets the request on if its user is within the rate limit; else 429 with {@code Retry-After}.
   */
  private static void limit(RateLimiter limiter, RoutingContext ctx) {
    // A body is held while Redis answers, so it is still there for the BodyHandler after this, and
    // so
    // is a WebSocket handshake, which must find its request unread. Nothing else: a paused request
    // would never be seen to end (the connection guard's body timeout).
    HttpServerRequest request = ctx.request();
    if (request.headers().contains(HttpHeaders.CONTENT_LENGTH)
        || request.headers().contains(HttpHeaders.TRANSFER_ENCODING)
        || "websocket".equalsIgnoreCase(request.getHeader(HttpHeaders.UPGRADE))) {
      request.pause();
    }
    limiter
        .take(user(ctx))
        .onComplete(
            taken -> {
              long waitMillis = taken.succeeded() ? taken.result() : 0;
              if (waitMillis <= 0) {
                ctx.next();
                return;
              }
              // Nothing will read the body: let it drain.
              ctx.request().resume();
              ctx.response()
                  .putHeader("Retry-After", Long.toString(Math.max(1, (waitMillis + 999) / 1000)));
              Problem.of(
                      429,
                      "rate-limited",
                      "Too many requests",
                      "more than SPOOL_RATE_LIMIT requests a second; nothing was done, retry after the Retry-After seconds")
                  .send(ctx);
            });
  }

  /**
   * The key from {@code Authorization: Bearer <key>}; browsers cannot set headers on WebSockets and
   * EventSource, so the event routes also take {@code ?access_token=<key>}.
   */
  private static String presentedKey(RoutingContext ctx) {
    String header = ctx.request().getHeader("Authorization");
    if (header != null) {
      return header.regionMatches(true, 0, "Bearer ", 0, 7) ? header.substring(7).strip() : "";
    }
    String path = ctx.request().path();
    if (HttpMethod.GET.equals(ctx.request().method())
        && (path.endsWith("/events") || path.endsWith("/ws"))) {
      try {
        return ctx.request().getParam("access_token");
      } catch (RuntimeException malformedQuery) {
        return "";
      }
    }
    return null;
  }

  /**
   * A request that is not valid HTTP, or whose URL or headers are too long (the codec's limits:
   * 4,096 and 8,192 bytes): a problem like every other 4xx, and the connection closes.
   */
  static void invalidRequest(HttpServerRequest request) {
    Throwable cause = request.decoderResult().cause();
    Problem problem;
    if (cause instanceof TooLongHttpLineException) {
      problem =
          Problem.of(
              414, "uri-too-long", "URI too long", "the request line is longer than 4096 bytes");
    } else if (cause instanceof TooLongHttpHeaderException) {
      problem =
          Problem.of(
              431,
              "headers-too-large",
              "Request header fields too large",
              "the headers are larger than 8192 bytes");
    } else {
      problem = Problem.badRequest("the request is not valid HTTP");
    }
    request.response().putHeader("Connection", "close");
    problem.send(request.response());
  }

  private static BodyHandler body() {
    return BodyHandler.create(false).setBodyLimit(MAX_BODY_BYTES);
  }

  private static void requireJson(RoutingContext ctx) {
    String type = ctx.request().getHeader("Content-Type");
    String[] parts = type == null ? new String[] {""} : type.split(";", 2);
    if (!parts[0].trim().equalsIgnoreCase("application/json")) {
      Problem.of(
              415,
              "unsupported-media-type",
              "Unsupported media type",
              "send the body as Content-Type: application/json")
          .send(ctx);
      return;
    }
    // JSON between systems is UTF-8 (RFC 8259); another declared charset is refused, not guessed
    // at.
    String charset =
        parts.length < 2
            ? null
            : parts[1].replaceAll("(?i).*charset\\s*=\\s*\"?([^\";]*).*", "$1").trim();
    if (charset != null
        && parts[1].toLowerCase(java.util.Locale.ROOT).contains("charset")
        && !charset.equalsIgnoreCase("utf-8")) {
      Problem.of(
              415,
              "unsupported-media-type",
              "Unsupported media type",
              "send the body as UTF-8 JSON (charset=utf-8 or no charset)")
          .send(ctx);
      return;
    }
    ctx.next();
  }

  private static void failure(RoutingContext ctx) {
    Throwable cause = ctx.failure();
    if (cause instanceof ProblemException problem) {
      problem.problem().send(ctx);
    } else if (ctx.statusCode() == 413) {
      Problem.of(
              413,
              "too-large",
              "Request too large",
              "the body is larger than " + MAX_BODY_BYTES + " bytes")
          .send(ctx);
    } else if (ctx.statusCode() >= 400 && ctx.statusCode() < 500) {
      Problem.of(
              ctx.statusCode(),
              "bad-request",
              HttpResponseStatus.valueOf(ctx.statusCode()).reasonPhrase(),
              "the request could not be processed")
          .send(ctx);
    } else if (isStoreUnavailable(cause)) {
      log.warn("Postgres unavailable: {}", cause.toString());
      ctx.response().putHeader("Retry-After", "1");
      Problem.of(
              503,
              "unavailable",
              "Service unavailable",
              "the job store is unavailable; nothing was accepted, retry later")
          .send(ctx);
    } else {
      log.error("unexpected failure on {} {}", ctx.request().method(), ctx.request().path(), cause);
      Problem.of(
              500,
              "internal",
              "Internal error",
              "the request failed unexpectedly; nothing secret is shown here")
          .send(ctx);
    }
  }

  /** Connection failures, shutdown, too many connections, read-only after a fail-over. */
  private static boolean isUnavailableState(String state) {
    return state != null
        && (state.startsWith("08")
            || state.startsWith("57P")
            || state.equals("53300")
            || state.equals("25006"));
  }

  private static boolean isStoreUnavailable(Throwable cause) {
    for (Throwable t = cause; t != null; t = t.getCause()) {
      if (t instanceof ConnectException
          || t instanceof ClosedConnectionException
          || t instanceof TimeoutException
          || (t instanceof PgException pg && isUnavailableState(pg.getSqlState()))) {
        return true;
      }
    }
    return false;
  }
}
