package io.spool.gateway;

import io.spool.store.SubmitSql;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.SqlClient;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How many jobs wait, against {@code SPOOL_QUEUE_LIMIT}: counted in Postgres once a second, plus
 * what this gateway reserved since (a submission reserves room before it inserts), so one gateway
 * never overshoots and several by about a second of their intake. Shared by the gateway's event
 * loops.
 */
final class PendingJobs {
  private static final Logger log = LoggerFactory.getLogger(PendingJobs.class);
  static final long COUNT_MILLIS = 1000;

  private final int limit;
  private final AtomicLong counted = new AtomicLong();
  private final AtomicLong reservedSince = new AtomicLong();
  private final AtomicBoolean counting = new AtomicBoolean();

  private PendingJobs(int limit) {
    this.limit = limit;
  }

  static PendingJobs counting(Vertx vertx, SqlClient pg, int limit) {
    var pending = new PendingJobs(limit);
    vertx.setPeriodic(0, COUNT_MILLIS, id -> pending.count(pg));
    return pending;
  }

  private void count(SqlClient pg) {
    if (!counting.compareAndSet(false, true)) {
      return; // the last count is still running
    }
    long reservedBefore = reservedSince.get();
    pg.query(SubmitSql.COUNT_PENDING)
        .execute()
        .onComplete(
            done -> {
              counting.set(false);
              if (done.succeeded()) {
                counted.set(done.result().iterator().next().getLong(0));
                // What was reserved while the count ran may or may not be in it: keep it, to err on
                // the safe side.
                reservedSince.updateAndGet(held -> Math.max(0, held - reservedBefore));
              } else {
                log.debug(
                    "counting pending jobs failed; the last count stands: {}",
                    done.cause().toString());
              }
            });
  }

  int limit() {
    return limit;
  }

  /**
   * Reserves room for {@code jobs} more pending jobs; false, reserving nothing, if that passes the
   * limit.
   */
  boolean reserve(int jobs) {
    while (true) {
      long held = reservedSince.get();
      if (counted.get() + held + jobs > limit) {
        return false;
      }
      if (reservedSince.compareAndSet(held, held + jobs)) {
        return true;
      }
    }
  }

  /** Gives back room reserved for jobs that were not created (refused, replayed, failed). */
  void release(int jobs) {
    reservedSince.addAndGet(-jobs);
  }
}
