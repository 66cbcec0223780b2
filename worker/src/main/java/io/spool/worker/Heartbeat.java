package io.spool.worker;

import io.spool.model.AttemptRef;
import io.spool.store.LeaseSql;
import io.spool.store.WorkerSql;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.templates.SqlTemplate;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Proves this worker alive: one row update per interval, whatever the worker holds (design note 4
 * in docs/architecture.md). The first beat registers the worker, before it claims anything. Each
 * beat also picks up requests to cancel jobs running here, in case the pub/sub message was missed.
 */
final class Heartbeat extends VerticleBase {
  private static final Logger log = LoggerFactory.getLogger(Heartbeat.class);

  private final SqlClient pg;
  private final String workerId;
  private final String[] queues;
  private final String[] types;
  private final int concurrency;
  private final Duration interval;
  private final JobRunner runner;
  private final Consumer<Set<AttemptRef>> onLeasesLost;
  private boolean registered;
  private long timer = -1;

  /**
   * Since when every beat has succeeded (System.nanoTime()), or {@link Long#MAX_VALUE} after a
   * failure.
   */
  private volatile long healthySince = Long.MAX_VALUE;

  /**
   * @param onLeasesLost called when a beat finds this worker had been declared dead and reaped,
   *     with the attempts it still holds: every other one went to others
   */
  Heartbeat(
      SqlClient pg,
      String workerId,
      List<String> queues,
      List<String> types,
      int concurrency,
      Duration interval,
      JobRunner runner,
      Consumer<Set<AttemptRef>> onLeasesLost) {
    this.pg = pg;
    this.runner = runner;
    this.onLeasesLost = onLeasesLost;
    this.workerId = workerId;
    this.queues = queues.toArray(String[]::new);
    this.types = types.toArray(String[]::new);
    this.concurrency = concurrency;
    this.interval = interval;
  }

  @Override
  public Future<?> start() {
    return beat()
        .onSuccess(
            v ->
                timer =
                    vertx.setPeriodic(
                        interval.toMillis(),
                        id ->
                            beat()
                                .onFailure(
                                    e ->
                                        log.warn(
                                            "heartbeat failed; if it stays down past the visibility timeout this worker's jobs "
                                                + "go to others: {}",
                                            e.toString()))));
  }

  /**
   * Whether this worker's own beats have all succeeded for at least {@code window}: only then may
   * it judge others silent. After a Postgres outage every heartbeat is stale; a reaper that did not
   * wait a full window would take the jobs of live workers.
   */
  boolean healthyFor(Duration window) {
    long since = healthySince;
    return since != Long.MAX_VALUE && System.nanoTime() - since >= window.toNanos();
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(timer);
    return Future.succeededFuture();
  }

  private Future<Void> beat() {
    long sentAt = System.nanoTime();
    return SqlTemplate.forQuery(pg, WorkerSql.HEARTBEAT)
        .execute(
            Map.of(
                "worker", workerId, "queues", queues, "types", types, "concurrency", concurrency))
        .onComplete(
            done -> {
              if (done.failed()) {
                healthySince = Long.MAX_VALUE;
              } else if (healthySince == Long.MAX_VALUE) {
                healthySince = sentAt;
              }
            })
        .compose(
            rows -> {
              boolean reaped = rows.iterator().next().getBoolean("inserted") && registered;
              registered = true;
              if (!reaped) {
                return Future.succeededFuture();
              }
              log.warn(
                  "worker {} had been declared dead (no heartbeat for the visibility timeout); "
                      + "it drops the attempts that went to others",
                  workerId);
              return SqlTemplate.forQuery(pg, LeaseSql.HELD_LEASES)
                  .execute(Map.of("worker", workerId))
                  .map(
                      held -> {
                        var stillMine = new HashSet<AttemptRef>();
                        held.forEach(
                            row ->
                                stillMine.add(
                                    new AttemptRef(row.getUUID("id"), row.getInteger("attempts"))));
                        onLeasesLost.accept(stillMine);
                        return null;
                      });
            })
        .compose(
            v ->
                SqlTemplate.forQuery(pg, LeaseSql.CANCEL_REQUESTED)
                    .execute(Map.of("worker", workerId)))
        .map(
            rows -> {
              rows.forEach(row -> runner.cancel(row.getUUID(0)));
              return null;
            });
  }
}
