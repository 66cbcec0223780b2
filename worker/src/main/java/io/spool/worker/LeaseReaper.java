package io.spool.worker;

import io.spool.attempt.ReturnedJobs;
import io.spool.signal.JobEvents;
import io.spool.signal.Keys;
import io.spool.signal.QueueSignals;
import io.spool.store.LeaseSql;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.templates.SqlTemplate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * Returns the running jobs of workers silent for longer than the visibility timeout to pending and
 * signals them again; jobs on their last attempt are dead-lettered instead. Runs in every worker at
 * once, safely. Once per visibility timeout it also sweeps for running jobs whose owner has no
 * heartbeat row at all, and it drops dead workers' consumers from the streams once they hold
 * nothing.
 */
final class LeaseReaper extends VerticleBase {
  private static final Logger log = LoggerFactory.getLogger(LeaseReaper.class);

  /** How often it looks; recovery takes at most the visibility timeout plus this. */
  static final long PERIOD_MILLIS = 1000;

  private final Heartbeat heartbeat;
  private final JobEvents events;
  private final Duration visibilityTimeout;
  private final SqlClient pg;
  private final Redis redis;
  private final QueueSignals signals;
  private final Keys keys;
  private final double visibilitySecs;
  private long timer = -1;
  private boolean reaping;
  private long nextOrphanSweepNanos = System.nanoTime();

  LeaseReaper(
      SqlClient pg,
      Redis redis,
      Keys keys,
      Duration visibilityTimeout,
      QueueSignals signals,
      Heartbeat heartbeat,
      JobEvents events) {
    this.events = events;
    this.heartbeat = heartbeat;
    this.visibilityTimeout = visibilityTimeout;
    this.pg = pg;
    this.redis = redis;
    this.signals = signals;
    this.keys = keys;
    this.visibilitySecs = visibilityTimeout.toMillis() / 1000.0;
  }

  @Override
  public Future<?> start() {
    timer =
        vertx.setPeriodic(
            PERIOD_MILLIS,
            id -> {
              if (!reaping) {
                reaping = true;
                reap()
                    .onComplete(
                        done -> {
                          reaping = false;
                          if (done.failed()) {
                            log.warn("reaping lost leases failed: {}", done.cause().toString());
                          }
                        });
              }
            });
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(timer);
    return Future.succeededFuture();
  }

  Future<Void> reap() {
    if (!heartbeat.healthyFor(visibilityTimeout)) {
      return Future.succeededFuture(); // this worker's own view of liveness is not trustworthy yet
    }
    return SqlTemplate.forQuery(pg, LeaseSql.REAP)
        .execute(Map.of("secs", visibilitySecs))
        .compose(
            rows -> {
              var lost = new ArrayList<Row>();
              var drops = new ArrayList<Future<?>>();
              for (Row row : rows) {
                if (row.getString("kind").equals("worker")) {
                  log.info(
                      "worker {} is gone: no heartbeat for {} s",
                      row.getString("id"),
                      visibilitySecs);
                  // The streams it read: its own queues and types, Java worker or remote.
                  keys.queueStreams(
                          List.of(row.getArrayOfStrings("queues")),
                          List.of(row.getArrayOfStrings("types")))
                      .forEach(
                          stream -> drops.add(dropConsumerIfIdle(stream, row.getString("id"))));
                } else {
                  lost.add(row);
                }
              }
              // Signal first: dropping consumers is housekeeping and may fail with Redis.
              return ReturnedJobs.announce(lost, "lost its worker", Level.WARN, events, signals)
                  .compose(v -> Future.join(drops).<Void>mapEmpty().otherwiseEmpty());
            })
        .compose(
            v -> {
              if (System.nanoTime() - nextOrphanSweepNanos < 0) {
                return Future.succeededFuture();
              }
              nextOrphanSweepNanos = System.nanoTime() + (long) (visibilitySecs * 1e9);
              return SqlTemplate.forQuery(pg, LeaseSql.REAP_ORPHANS)
                  .execute(Map.of("secs", visibilitySecs))
                  .compose(
                      rows ->
                          ReturnedJobs.announce(
                              rows, "lost its worker", Level.WARN, events, signals));
            });
  }

  /**
   * Deletes a dead worker's consumer unless it still holds signals (XAUTOCLAIM will move those).
   */
  private Future<Void> dropConsumerIfIdle(String stream, String consumer) {
    return redis
        .send(
            Request.cmd(Command.XPENDING)
                .arg(stream)
                .arg(Keys.GROUP)
                .arg("-")
                .arg("+")
                .arg(1)
                .arg(consumer))
        .compose(
            pending ->
                pending == null || pending.size() == 0
                    ? redis
                        .send(
                            Request.cmd(Command.XGROUP)
                                .arg("DELCONSUMER")
                                .arg(stream)
                                .arg(Keys.GROUP)
                                .arg(consumer))
                        .mapEmpty()
                    : Future.<Void>succeededFuture());
  }
}
