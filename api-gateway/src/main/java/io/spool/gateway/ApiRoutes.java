package io.spool.gateway;

import io.netty.handler.codec.http.HttpResponseStatus;
import io.vertx.core.Vertx;
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

  private ApiRoutes() {}

  static Router router(Vertx vertx, JobsHandler jobs, JobStreams streams, Health health) {
    Router router = Router.router(vertx);
    router.get("/health/live").handler(health::live);
    router.get("/health/ready").handler(health::ready);

    router.route("/v1/*").handler(ApiRoutes::identify);
    router.post("/v1/jobs").handler(body()).handler(ApiRoutes::requireJson).handler(jobs::submit);
    router.post("/v1/jobs/batch").handler(body()).handler(ApiRoutes::requireJson).handler(jobs::submitBatch);
    router.get("/v1/jobs").handler(jobs::list);
    router.get("/v1/jobs/:id").handler(jobs::get);
    router.get("/v1/jobs/:id/events").handler(streams::sse);
    router.get("/v1/jobs/:id/ws").handler(streams::webSocket);
    router.get("/v1/ws").handler(streams::multiJobWebSocket);
    router.post("/v1/jobs/:id/cancel").handler(jobs::cancel);
    router.get("/v1/dlq").handler(jobs::listDeadLetters);
    router.post("/v1/dlq/:id/requeue").handler(jobs::requeue);
    router.delete("/v1/dlq/:id").handler(jobs::discard);

    router.route().failureHandler(ApiRoutes::failure);
    router.errorHandler(404, ctx -> Problem.notFound("no route " + ctx.request().method() + " "
        + Problem.printable(ctx.request().path())).send(ctx));
    router.errorHandler(405, ctx -> Problem.of(405, "method-not-allowed", "Method not allowed",
        ctx.request().method() + " is not allowed on " + Problem.printable(ctx.request().path())).send(ctx));
    return router;
  }

  /** The calling user. Until API keys arrive every caller is the same anonymous user. */
  static String user(RoutingContext ctx) {
    return ctx.get(USER);
  }

  private static void identify(RoutingContext ctx) {
    ctx.put(USER, "anonymous");
    ctx.next();
  }

  private static BodyHandler body() {
    return BodyHandler.create(false).setBodyLimit(MAX_BODY_BYTES);
  }

  private static void requireJson(RoutingContext ctx) {
    String type = ctx.request().getHeader("Content-Type");
    String mediaType = type == null ? "" : type.split(";", 2)[0].trim();
    if (!mediaType.equalsIgnoreCase("application/json")) {
      Problem.of(415, "unsupported-media-type", "Unsupported media type",
          "send the body as Content-Type: application/json").send(ctx);
      return;
    }
    ctx.next();
  }

  private static void failure(RoutingContext ctx) {
    Throwable cause = ctx.failure();
    if (cause instanceof ProblemException problem) {
      problem.problem().send(ctx);
    } else if (ctx.statusCode() == 413) {
      Problem.of(413, "too-large", "Request too large", "the body is larger than " + MAX_BODY_BYTES + " bytes").send(ctx);
    } else if (ctx.statusCode() >= 400 && ctx.statusCode() < 500) {
      Problem.of(ctx.statusCode(), "bad-request", HttpResponseStatus.valueOf(ctx.statusCode()).reasonPhrase(),
          "the request could not be processed").send(ctx);
    } else if (isStoreUnavailable(cause)) {
      log.warn("Postgres unavailable: {}", cause.toString());
      ctx.response().putHeader("Retry-After", "1");
      Problem.of(503, "unavailable", "Service unavailable",
          "the job store is unavailable; nothing was accepted, retry later").send(ctx);
    } else {
      log.error("unexpected failure on {} {}", ctx.request().method(), ctx.request().path(), cause);
      Problem.of(500, "internal", "Internal error", "the request failed unexpectedly; nothing secret is shown here").send(ctx);
    }
  }

  /** Connection failures, shutdown, too many connections, read-only after a fail-over. */
  private static boolean isUnavailableState(String state) {
    return state != null && (state.startsWith("08") || state.startsWith("57P") || state.equals("53300") || state.equals("25006"));
  }

  private static boolean isStoreUnavailable(Throwable cause) {
    for (Throwable t = cause; t != null; t = t.getCause()) {
      if (t instanceof ConnectException || t instanceof ClosedConnectionException || t instanceof TimeoutException
          || (t instanceof PgException pg && isUnavailableState(pg.getSqlState()))) {
        return true;
      }
    }
    return false;
  }
}
