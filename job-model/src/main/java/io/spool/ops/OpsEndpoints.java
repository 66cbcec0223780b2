package io.spool.ops;

import io.spool.model.JobJson;
import io.vertx.core.Future;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.sqlclient.SqlClient;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.concurrent.TimeUnit;

/**
 * {@code /metrics} and {@code /health/*}, the same on the gateway (on its HTTP port) and the worker
 * (on {@code SPOOL_METRICS_PORT}). Liveness says the process serves; readiness says Postgres
 * answers (without it nothing can be accepted or finished), with Redis down reported as {@code
 * degraded}: Spool runs on Postgres alone, more slowly.
 */
public final class OpsEndpoints {
  private static final long CHECK_TIMEOUT_MILLIS = 2000;

  /** Prometheus's text format, version 0.0.4, which every scraper reads. */
  private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

  private final SpoolMetrics metrics;
  private final byte[] metricsAuthorization;
  private final SqlClient pg;
  private final Redis redis;

  /** {@code metricsToken} null leaves {@code /metrics} open. */
  public OpsEndpoints(SpoolMetrics metrics, String metricsToken, SqlClient pg, Redis redis) {
    this.metrics = metrics;
    this.metricsAuthorization =
        metricsToken == null ? null : ("Bearer " + metricsToken).getBytes(StandardCharsets.UTF_8);
    this.pg = pg;
    this.redis = redis;
  }

  /** Serves one of the three paths; false if {@code request} is for another. */
  public boolean serve(HttpServerRequest request) {
    switch (request.path()) {
      case "/metrics" -> metrics(request);
      case "/health/live" -> live(request);
      case "/health/ready" -> ready(request);
      default -> {
        return false;
      }
    }
    return true;
  }

  public void metrics(HttpServerRequest request) {
    if (metricsAuthorization != null) {
      String given = request.getHeader("Authorization");
      if (given == null
          || !MessageDigest.isEqual(metricsAuthorization, given.getBytes(StandardCharsets.UTF_8))) {
        request
            .response()
            .setStatusCode(401)
            .putHeader("WWW-Authenticate", "Bearer realm=\"metrics\"")
            .putHeader("Content-Type", "application/problem+json")
            .end(
                "{\"type\":\"about:blank\",\"title\":\"Unauthorized\",\"status\":401,"
                    + "\"detail\":\"/metrics needs Authorization: Bearer <SPOOL_METRICS_TOKEN>\"}");
        return;
      }
    }
    request.response().putHeader("Content-Type", PROMETHEUS_TEXT).end(metrics.scrape());
  }

  public void live(HttpServerRequest request) {
    request.response().putHeader("Content-Type", "application/json").end("{\"status\":\"up\"}");
  }

  public void ready(HttpServerRequest request) {
    Future<Boolean> postgres =
        pg.query("SELECT 1")
            .execute()
            .timeout(CHECK_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)
            .map(rows -> true)
            .otherwise(false);
    Future<Boolean> redisUp =
        redis
            .send(Request.cmd(Command.PING))
            .timeout(CHECK_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)
            .map(reply -> true)
            .otherwise(false);
    Future.all(postgres, redisUp)
        .onComplete(
            done -> {
              boolean ready = postgres.result();
              var body =
                  JobJson.MAPPER
                      .createObjectNode()
                      .put("status", !ready ? "down" : redisUp.result() ? "up" : "degraded")
                      .put("postgres", postgres.result() ? "up" : "down")
                      .put("redis", redisUp.result() ? "up" : "down");
              request
                  .response()
                  .setStatusCode(ready ? 200 : 503)
                  .putHeader("Content-Type", "application/json")
                  .end(JobJson.encode(body));
            });
  }
}
