package io.spool.worker;

import io.spool.signal.Keys;
import io.spool.signal.QueueSignals;
import io.spool.signal.QueueSignals.Signal;
import io.spool.store.ClaimSql;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.templates.SqlTemplate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Signals every pending job again, after Redis lost its data or was away (jobs submitted meanwhile
 * got no stream signal). Duplicates are harmless: a signal for a job no longer pending is just
 * acknowledged. One worker at a time does it, under a lock in Redis. Blocking: call it from a
 * virtual thread.
 */
final class Reconciler {
  private static final Logger log = LoggerFactory.getLogger(Reconciler.class);
  private static final int PAGE = 1000;
  private static final long LOCK_MILLIS = 60_000;

  /** Deletes the lock only if this worker still holds it. */
  private static final String RELEASE =
      "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

  private final Redis redis;
  private final SqlClient pg;
  private final Keys keys;
  private final QueueSignals signals;
  private final String workerId;

  Reconciler(Redis redis, SqlClient pg, Keys keys, QueueSignals signals, String workerId) {
    this.redis = redis;
    this.pg = pg;
    this.keys = keys;
    this.signals = signals;
    this.workerId = workerId;
  }

  /**
   * True if Redis has lost its data since Spool last looked (and records that it has looked now).
   */
  boolean redisLostItsData() {
    var reply =
        redis
            .send(
                Request.cmd(Command.SET)
                    .arg(keys.epoch())
                    .arg(System.currentTimeMillis())
                    .arg("NX"))
            .await();
    return reply != null && "OK".equals(reply.toString());
  }

  void reconcile(String why) {
    var locked =
        redis
            .send(
                Request.cmd(Command.SET)
                    .arg(keys.reconcileLock())
                    .arg(workerId)
                    .arg("NX")
                    .arg("PX")
                    .arg(LOCK_MILLIS))
            .await();
    if (locked == null) {
      return; // another worker is at it
    }
    try {
      signalAll(why);
    } finally {
      redis.send(
          Request.cmd(Command.EVAL).arg(RELEASE).arg(1).arg(keys.reconcileLock()).arg(workerId));
    }
  }

  private void signalAll(String why) {
    long signalled = 0;
    UUID after = null;
    while (true) {
      var page = new ArrayList<Signal>(PAGE);
      var params = new HashMap<String, Object>();
      params.put("after", after); // null: the first page
      params.put("max", PAGE);
      for (Row row : SqlTemplate.forQuery(pg, ClaimSql.PENDING_PAGE).execute(params).await()) {
        after = row.getUUID("id");
        page.add(Signal.of(row));
      }
      signals.signal(page).await();
      signalled += page.size();
      if (page.size() < PAGE) {
        break;
      }
    }
    log.info("signalled {} pending jobs again ({})", signalled, why);
  }
}
