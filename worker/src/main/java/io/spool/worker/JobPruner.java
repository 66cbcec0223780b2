package io.spool.worker;

import io.spool.config.SpoolConfig.Retention;
import io.spool.ops.SpoolMetrics;
import io.spool.store.PruneSql;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.templates.SqlTemplate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes finished jobs past their retention ({@code SPOOL_RETENTION_*_SECS}, or a job's own {@code
 * retention_secs}), with their webhook deliveries, side-effect records and idempotency keys, every
 * {@code SPOOL_PRUNE_INTERVAL_SECS}. Runs in every worker, safely: each batch is one statement that
 * deletes only under an advisory lock it takes for itself ({@link PruneSql}), so batches of
 * different workers never overlap, and a worker that finds the lock taken leaves the pass to the
 * one holding it. Deployed on a virtual thread of its own.
 *
 * <p>It keeps out of the hot path's way: batches are at most {@code SPOOL_PRUNE_BATCH} jobs, halved
 * while one takes longer than {@link #SLOW_BATCH} (and grown back while they are quick), and after
 * each full batch it pauses twice as long as the batch took, so it holds a Postgres backend at most
 * a third of the time while it catches up.
 */
final class JobPruner extends VerticleBase {
  private static final Logger log = LoggerFactory.getLogger(JobPruner.class);

  /** A batch slower than this halves the next one. */
  static final Duration SLOW_BATCH = Duration.ofMillis(200);

  static final int MIN_BATCH = 10;

  /** One kind of prunable job: its statement and parameters. */
  private record Kind(String name, String sql, Map<String, Object> params) {}

  private final SqlClient pg;
  private final Retention settings;
  private final SpoolMetrics metrics;
  private final List<Kind> kinds = new ArrayList<>();
  private int batch;
  private volatile boolean stopping;

  /** Completes when the next pass is due, or at once when the verticle stops. */
  private volatile Promise<Void> due = Promise.promise();

  private volatile long timer = -1;

  JobPruner(SqlClient pg, Retention settings, String schema, SpoolMetrics metrics) {
    this.pg = pg;
    this.settings = settings;
    this.metrics = metrics;
    this.batch = settings.pruneBatch();
    String lock = PruneSql.lockName(schema);
    addStatus("completed", settings.completed(), lock);
    addStatus("cancelled", settings.cancelled(), lock);
    addStatus("failed", settings.failed(), lock);
    kinds.add(new Kind("own retention", PruneSql.OWN_RETENTION, Map.of("lock", lock)));
  }

  private void addStatus(String status, Duration retention, String lock) {
    if (!retention.isZero()) {
      kinds.add(
          new Kind(
              status,
              PruneSql.BY_STATUS,
              Map.of("lock", lock, "status", status, "secs", (int) retention.toSeconds())));
    }
  }

  @Override
  public Future<?> start() {
    context.runOnContext(v -> pruneUntilStopped());
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    vertx.cancelTimer(timer);
    due.tryComplete();
    return Future.succeededFuture();
  }

  /** Waits {@code millis}, or until the verticle stops. */
  private void sleep(long millis) {
    Promise<Void> next = Promise.promise();
    due = next;
    timer = vertx.setTimer(millis, id -> next.tryComplete());
    if (stopping) {
      next.tryComplete();
    }
    next.future().await();
  }

  private void pruneUntilStopped() {
    long intervalMillis = settings.pruneInterval().toMillis();
    // Workers started together spread their passes over the interval.
    long wait = 1 + ThreadLocalRandom.current().nextLong(intervalMillis);
    while (!stopping) {
      try {
        sleep(wait);
        if (stopping) {
          return;
        }
        wait = intervalMillis;
        pass();
      } catch (VirtualMachineError e) {
        throw e;
      } catch (Throwable e) {
        if (stopping || e instanceof InterruptedException) {
          return;
        }
        log.warn("pruning finished jobs failed; trying again next interval: {}", e.toString());
      }
    }
  }

  /** Deletes, batch by batch, every job now past its retention (unless another worker is at it). */
  void pass() {
    for (Kind kind : kinds) {
      while (!stopping) {
        int limit = batch;
        var params = new HashMap<>(kind.params());
        params.put("limit", limit);
        long start = System.nanoTime();
        var rows = SqlTemplate.forQuery(pg, kind.sql()).execute(params).await();
        long tookNanos = System.nanoTime() - start;
        count(kind, rows);
        if (tookNanos > SLOW_BATCH.toNanos()) {
          batch = Math.max(MIN_BATCH, batch / 2);
        } else if (rows.size() == limit && tookNanos < SLOW_BATCH.toNanos() / 4) {
          batch = Math.min(settings.pruneBatch(), batch * 2);
        }
        if (rows.size() < limit) {
          break; // all done, or another worker holds the turn
        }
        sleep(Math.max(1, 2 * tookNanos / 1_000_000));
      }
    }
  }

  private void count(Kind kind, Iterable<Row> rows) {
    var byStatus = new HashMap<String, Integer>();
    for (Row row : rows) {
      byStatus.merge(row.getString("status"), 1, Integer::sum);
    }
    byStatus.forEach(metrics::pruned);
    if (!byStatus.isEmpty()) {
      log.debug("pruned {} ({})", byStatus, kind.name());
    }
  }
}
