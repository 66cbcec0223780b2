package io.spool.gateway;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.spool.model.JobJson;
import io.spool.ops.QueueStats;
import io.spool.ops.QueueStatsSampler;
import io.vertx.ext.web.RoutingContext;

/**
 * {@code GET /v1/queues}: the last sample of the queues' figures (over all users: counts only, no ids),
 * so a dashboard refreshing every few seconds costs the database nothing more.
 */
final class QueuesHandler {
  private final QueueStatsSampler sampler;

  QueuesHandler(QueueStatsSampler sampler) {
    this.sampler = sampler;
  }

  void get(RoutingContext ctx) {
    QueueStats stats = sampler.latest();
    if (!stats.sampled()) {
      ctx.response().putHeader("Retry-After", "2");
      Problem.of(503, "not-sampled-yet", "Queue figures not read yet",
          "the gateway has not read the queues from Postgres yet; ask again after the Retry-After seconds").send(ctx);
      return;
    }
    ObjectNode body = JobJson.MAPPER.createObjectNode();
    var queues = body.putArray("queues");
    stats.queues().forEach((name, q) -> {
      ObjectNode row = queues.addObject().put("queue", name).put("pending", q.pending()).put("running", q.running());
      if (q.lag() == null) {
        row.putNull("lag");
      } else {
        row.put("lag", q.lag());
      }
      row.put("oldest_pending_at", q.oldestDueAt() == null ? null : q.oldestDueAt().toString());
      row.put("dead_letters", q.deadLetters());
    });
    body.put("workers", stats.workersAlive());
    body.put("redis", stats.redisUp() ? "up" : "down");
    body.put("sampled_at", stats.sampledAt().toString());
    ctx.response().putHeader("Content-Type", "application/json").putHeader("Cache-Control", "no-store")
        .end(JobJson.encode(body));
  }
}
