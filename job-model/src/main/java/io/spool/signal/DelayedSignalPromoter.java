package io.spool.signal;

import io.spool.signal.QueueSignals.Promotion;
import io.spool.store.WorkerSql;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.sqlclient.SqlClient;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves delayed signals (scheduled jobs, retries waiting out their backoff) to their streams when
 * they fall due. It sleeps until the next one is due, at most {@link #MAX_SLEEP_MILLIS}, so it
 * neither busy-polls nor starts a job late by more than that. Every Java worker and every gateway
 * runs one over the shards of every queue a registered worker (Java or remote) consumes, so delays
 * work with only remote workers too; the move is atomic in Redis, so they never double a signal.
 */
public final class DelayedSignalPromoter extends VerticleBase {
  private static final Logger log = LoggerFactory.getLogger(DelayedSignalPromoter.class);
  static final long MAX_SLEEP_MILLIS = 500;
  private static final long MIN_SLEEP_MILLIS = 5;
  private static final int BATCH = 500;

  /** How often the queues other workers consume are read again. */
  private static final long QUEUES_REFRESH_NANOS = 5_000_000_000L;

  private final QueueSignals signals;
  private final SqlClient pg;

  /** This worker's queues, which it promotes whatever Postgres says. */
  private final List<String> own;

  /**
   * The queues whose shards' delayed sets it promotes: its own and those of every registered worker
   * (remote workers, which promote nothing themselves, included).
   */
  private volatile Set<String> queues;

  private long queuesReadNanos = System.nanoTime() - QUEUES_REFRESH_NANOS;
  private volatile boolean stopping;

  public DelayedSignalPromoter(QueueSignals signals, SqlClient pg, List<String> queues) {
    this.signals = signals;
    this.pg = pg;
    this.own = queues;
    this.queues = new TreeSet<>(queues);
  }

  /** Reads again, every few seconds, which queues registered workers consume. */
  private void refreshQueues() {
    if (System.nanoTime() - queuesReadNanos < QUEUES_REFRESH_NANOS) {
      return;
    }
    queuesReadNanos = System.nanoTime();
    pg.query(WorkerSql.CONSUMED_QUEUES)
        .execute()
        .onSuccess(
            rows -> {
              var all = new TreeSet<>(own);
              rows.forEach(row -> all.add(row.getString("queue")));
              queues = all;
            })
        .onFailure(e -> log.debug("reading the consumed queues failed: {}", e.toString()));
  }

  @Override
  public Future<?> start() {
    promote();
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    return Future.succeededFuture();
  }

  private void promote() {
    if (stopping) {
      return;
    }
    refreshQueues();
    signals
        .promoteDue(queues, BATCH)
        .onComplete(
            done -> {
              long sleep = MAX_SLEEP_MILLIS;
              if (done.succeeded()) {
                Promotion promotion = done.result();
                if (promotion.moved() >= BATCH) {
                  sleep = 0;
                } else if (promotion.millisUntilNext() >= 0) {
                  sleep =
                      Math.max(
                          MIN_SLEEP_MILLIS,
                          Math.min(MAX_SLEEP_MILLIS, promotion.millisUntilNext()));
                }
              } else {
                log.debug("promoting delayed signals failed: {}", done.cause().toString());
              }
              if (sleep == 0) {
                context.runOnContext(v -> promote());
              } else if (!stopping) {
                vertx.setTimer(sleep, id -> promote());
              }
            });
  }
}
