package io.spool.worker;

import io.spool.signal.Keys;
import io.spool.signal.Keys.Shard;
import io.spool.signal.Pipeline;
import io.spool.signal.QueueSignals;
import io.spool.signal.QueueSignals.Signal;
import io.spool.store.ClaimSql;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.templates.SqlTemplate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Signals pending jobs again, shard by shard: after the server holding a queue shard lost its data
 * (its epoch key is gone), or after the worker could not reach it (jobs submitted meanwhile got no
 * stream signal). On a Redis Cluster a master that fails over empty loses only its own shards, and
 * only their jobs are signalled again. Duplicates are harmless: a signal for a job no longer
 * pending is just acknowledged. One worker at a time does a shard, under a lock in its slot.
 * Blocking: call it from a virtual thread.
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
   * The shards whose server has lost its data since Spool last looked (and records that it has
   * looked now): those whose epoch key this call had to set.
   */
  List<Shard> lostTheirData(Collection<Shard> shards) {
    var sets = new ArrayList<Request>(shards.size());
    shards.forEach(
        shard ->
            sets.add(
                Request.cmd(Command.SET)
                    .arg(keys.epoch(shard.queue(), shard.index()))
                    .arg(System.currentTimeMillis())
                    .arg("NX")));
    List<Response> replies = Pipeline.send(redis, keys, sets).await();
    var lost = new ArrayList<Shard>();
    int i = 0;
    for (Shard shard : shards) {
      Response reply = replies.get(i++);
      if (reply != null && "OK".equals(reply.toString())) {
        lost.add(shard);
      }
    }
    return lost;
  }

  /** Signals again the pending jobs of these shards that no other worker is signalling. */
  void reconcile(String why, Collection<Shard> shards) {
    if (shards.isEmpty()) {
      return;
    }
    var locks = new ArrayList<Request>(shards.size());
    shards.forEach(
        shard ->
            locks.add(
                Request.cmd(Command.SET)
                    .arg(keys.reconcileLock(shard.queue(), shard.index()))
                    .arg(workerId)
                    .arg("NX")
                    .arg("PX")
                    .arg(LOCK_MILLIS)));
    List<Response> replies = Pipeline.send(redis, keys, locks).await();
    Set<Shard> mine = new HashSet<>();
    int i = 0;
    for (Shard shard : shards) {
      if (replies.get(i++) != null) {
        mine.add(shard); // else another worker is at it
      }
    }
    if (mine.isEmpty()) {
      return;
    }
    try {
      signalPending(why, mine);
    } finally {
      for (Shard shard : mine) {
        redis.send(
            Request.cmd(Command.EVAL)
                .arg(RELEASE)
                .arg(1)
                .arg(keys.reconcileLock(shard.queue(), shard.index()))
                .arg(workerId));
      }
    }
  }

  private void signalPending(String why, Set<Shard> shards) {
    long signalled = 0;
    UUID after = null;
    String[] queues = shards.stream().map(Shard::queue).distinct().toArray(String[]::new);
    while (true) {
      var page = new ArrayList<Signal>(PAGE);
      var params = new HashMap<String, Object>();
      params.put("queues", queues);
      params.put("after", after); // null: the first page
      params.put("max", PAGE);
      int rows = 0;
      for (Row row : SqlTemplate.forQuery(pg, ClaimSql.PENDING_PAGE).execute(params).await()) {
        rows++;
        after = row.getUUID("id");
        Signal signal = Signal.of(row);
        if (shards.contains(new Shard(signal.queue(), keys.shardOf(signal.jobId())))) {
          page.add(signal);
        }
      }
      signals.signal(page).await();
      signalled += page.size();
      if (rows < PAGE) {
        break;
      }
    }
    log.info(
        "signalled {} pending jobs again, of {} queue shards ({})", signalled, shards.size(), why);
  }
}
