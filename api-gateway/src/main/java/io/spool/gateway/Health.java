package io.spool.gateway;

import io.spool.model.JobJson;
import io.vertx.core.Future;
import io.vertx.ext.web.RoutingContext;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.sqlclient.SqlClient;
import java.util.concurrent.TimeUnit;

/** Liveness (the process serves) and readiness (Postgres answers; Redis down is only degraded). */
final class Health {
  private static final long CHECK_TIMEOUT_MILLIS = 2000;

  private final SqlClient pg;
  private final Redis redis;

  Health(SqlClient pg, Redis redis) {
    this.pg = pg;
    this.redis = redis;
  }

  void live(RoutingContext ctx) {
    ctx.response().putHeader("Content-Type", "application/json").end("{\"status\":\"up\"}");
  }

  void ready(RoutingContext ctx) {
    Future<Boolean> postgres = pg.query("SELECT 1").execute().timeout(CHECK_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)
        .map(rows -> true).otherwise(false);
    Future<Boolean> redisUp = redis.send(Request.cmd(Command.PING)).timeout(CHECK_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)
        .map(reply -> true).otherwise(false);
    Future.all(postgres, redisUp).onComplete(done -> {
      boolean ready = postgres.result();
      var body = JobJson.MAPPER.createObjectNode()
          .put("status", !ready ? "down" : redisUp.result() ? "up" : "degraded")
          .put("postgres", postgres.result() ? "up" : "down")
          .put("redis", redisUp.result() ? "up" : "down");
      ctx.response().setStatusCode(ready ? 200 : 503)
          .putHeader("Content-Type", "application/json").end(JobJson.encode(body));
    });
  }
}
