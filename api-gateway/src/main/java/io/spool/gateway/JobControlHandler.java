package io.spool.gateway;

import static io.spool.gateway.JobAnswers.sendJson;
import static io.spool.gateway.RequestParts.pathId;

import io.spool.model.Job;
import io.spool.model.JobStatus;
import io.spool.ops.SpoolMetrics;
import io.spool.signal.JobEvents;
import io.spool.signal.QueueSignals;
import io.spool.signal.QueueSignals.Signal;
import io.spool.store.JobRows;
import io.spool.store.UserJobSql;
import io.vertx.core.Future;
import io.vertx.ext.web.RoutingContext;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.templates.SqlTemplate;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A user's changes to a job: POST /v1/jobs/{id}/cancel, POST /v1/dlq/{id}/requeue and DELETE
 * /v1/dlq/{id}. Each is one conditional statement; when it matches nothing, a second read says why
 * (404 if the job is not the caller's, else 409).
 */
final class JobControlHandler {
  private final SqlClient pg;
  private final QueueSignals signals;
  private final JobEvents events;
  private final SpoolMetrics metrics;

  JobControlHandler(SqlClient pg, QueueSignals signals, JobEvents events, SpoolMetrics metrics) {
    this.pg = pg;
    this.signals = signals;
    this.events = events;
    this.metrics = metrics;
  }

  /**
   * Cancels a job: a pending one at once (200), a running one by flagging it and telling its
   * worker, which ends it within moments (202, still running in the answer). Anything else is 409.
   */
  void cancel(RoutingContext ctx) {
    UUID id = pathId(ctx);
    String user = ApiRoutes.user(ctx);
    SqlTemplate.forQuery(pg, UserJobSql.CANCEL)
        .execute(Map.of("id", id, "user", user))
        .compose(
            rows -> {
              if (rows.size() == 0) {
                return explainMiss(id, user, "only pending or running jobs can be cancelled");
              }
              Job job = JobRows.toJob(rows.iterator().next());
              if (job.status() != JobStatus.RUNNING) {
                metrics.cancelledWhilePending(job.queue(), job.type());
                Future<Void> released =
                    job.concurrencyKey() == null
                        ? Future.succeededFuture()
                        : signals.releaseConcurrencyKeys(List.of(id)).otherwiseEmpty();
                return released
                    .compose(v -> events.emit(JobEvents.statusChange(id, job.status(), 0)))
                    .map(job)
                    .otherwise(job);
              }
              // The durable flag is set; the message only makes it fast. Losing it costs a
              // heartbeat.
              return signals.askToCancel(id).map(job).otherwise(job);
            })
        .onSuccess(job -> sendJson(ctx, job.status() == JobStatus.RUNNING ? 202 : 200, job))
        .onFailure(ctx::fail);
  }

  /** Puts a dead-lettered job back to pending with a fresh run of attempts. */
  void requeue(RoutingContext ctx) {
    UUID id = pathId(ctx);
    String user = ApiRoutes.user(ctx);
    SqlTemplate.forQuery(pg, UserJobSql.REQUEUE)
        .execute(Map.of("id", id, "user", user))
        .compose(
            rows -> {
              if (rows.size() == 0) {
                return explainMiss(id, user, "only jobs in the dead-letter queue can be requeued");
              }
              Job job = JobRows.toJob(rows.iterator().next());
              return events
                  .restart(id)
                  .compose(v -> events.emit(JobEvents.statusChange(id, job.status(), 0)))
                  .otherwiseEmpty()
                  .compose(v -> signals.signal(List.of(Signal.of(job))).map(job).otherwise(job));
            })
        .onSuccess(job -> sendJson(ctx, 200, job))
        .onFailure(ctx::fail);
  }

  /** Takes a job out of the dead-letter queue; it stays failed. */
  void discard(RoutingContext ctx) {
    UUID id = pathId(ctx);
    String user = ApiRoutes.user(ctx);
    SqlTemplate.forQuery(pg, UserJobSql.DISCARD)
        .execute(Map.of("id", id, "user", user))
        .compose(
            rows ->
                rows.size() == 0
                    ? explainMiss(id, user, "the job is not in the dead-letter queue")
                    : Future.succeededFuture())
        .onSuccess(v -> ctx.response().setStatusCode(204).end())
        .onFailure(ctx::fail);
  }

  /** Why a conditional write matched nothing: 404 if the job is not the caller's, else 409. */
  private <T> Future<T> explainMiss(UUID id, String user, String rule) {
    return SqlTemplate.forQuery(pg, UserJobSql.SELECT_OWN_STATUS)
        .execute(Map.of("id", id, "user", user))
        .compose(
            rows -> {
              if (rows.size() == 0) {
                return Future.failedFuture(Problem.notFound("no job " + id).exception());
              }
              Row row = rows.iterator().next();
              String state =
                  row.getBoolean("discarded")
                      ? "discarded from the dead-letter queue"
                      : row.getString("status");
              return Future.failedFuture(
                  Problem.conflict("job " + id + " is " + state + "; " + rule).exception());
            });
  }
}
