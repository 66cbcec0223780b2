package io.spool.gateway;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.spool.model.JobJson;
import io.spool.ops.QueueStats;
import io.spool.ops.QueueStatsSampler;
import io.vertx.core.Context;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;

/**
 * {@code GET /v1/queues}: the queues' figures (over all users: counts only, no ids), at most {@link
 * #MAX_AGE} old. The sample taken every {@code SPOOL_QUEUE_STATS_SECS} for the gauges serves while
 * it is that young; an older one is read again for the request that finds it so, with every request
 * arriving meanwhile joining that read. A dashboard opened as workers start sees them at once, and
 * any number of callers cost the database at most one read per {@code MAX_AGE} per gateway.
 */
final class QueuesHandler {
  /** How old the figures answered may be. */
  static final Duration MAX_AGE = Duration.ofSeconds(1);

  private final QueueStatsSampler sampler;

  QueuesHandler(QueueStatsSampler sampler) {
    this.sampler = sampler;
  }

  void get(RoutingContext ctx) {
    // The read may have been started, and so complete, on another event loop: answer on this one.
    Context here = ctx.vertx().getOrCreateContext();
    sampler.recent(MAX_AGE).onComplete(read -> here.runOnContext(v -> answer(ctx, read.result())));
  }

  private static void answer(RoutingContext ctx, QueueStats stats) {
    if (!stats.sampled()) {
      ctx.response().putHeader("Retry-After", "2");
      Problem.of(
              503,
              "not-sampled-yet",
              "Queue figures not read yet",
              "the gateway could not read the queues from Postgres yet; ask again after the Retry-After seconds")
          .send(ctx);
      return;
    }
    ObjectNode body = JobJson.MAPPER.createObjectNode();
    var queues = body.putArray("queues");
    stats
        .queues()
        .forEach(
            (name, q) -> {
              ObjectNode row =
                  queues
                      .addObject()
                      .put("queue", name)
                      .put("pending", q.pending())
                      .put("running", q.running());
              if (q.lag() == null) {
                row.putNull("lag");
              } else {
                row.put("lag", q.lag());
              }
              row.put(
                  "oldest_pending_at", q.oldestDueAt() == null ? null : q.oldestDueAt().toString());
              row.put("dead_letters", q.deadLetters());
              // Per type: a type no live worker serves shows its jobs waiting beside workers 0.
              ObjectNode types = row.putObject("types");
              q.types()
                  .forEach(
                      (type, t) ->
                          types
                              .putObject(type)
                              .put("pending", t.pending())
                              .put("running", t.running())
                              .put("workers", t.workers()));
            });
    body.put("workers", stats.workersAlive());
    body.put("redis", stats.redisUp() ? "up" : "down");
    body.put("sampled_at", stats.sampledAt().toString());
    ctx.response()
        .putHeader("Content-Type", "application/json")
        .putHeader("Cache-Control", "no-store")
        .end(JobJson.encode(body));
  }
}
