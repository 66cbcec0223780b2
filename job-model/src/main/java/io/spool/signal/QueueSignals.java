package io.spool.signal;

import io.spool.config.SpoolConfig;
import io.spool.model.Job;
import io.spool.store.ClaimSql;
import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.templates.SqlTemplate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Map;
import java.util.UUID;

/**
 * Signals pending jobs to workers. A job due now gets an XADD on its queue's stream (of its
 * priority band); a job due later goes to the delayed set, from which workers promote it to the
 * stream when it falls due. All in one pipeline. If Redis is down, a Postgres NOTIFY wakes the
 * workers instead, which then claim straight from Postgres (design note 5 in docs/architecture.md).
 * A signal is only a wake-up: losing or repeating one delays a job at worst (design note 2 in
 * docs/architecture.md).
 */
public final class QueueSignals {
  /** Signals due within this are sent to the stream at once. */
  private static final long DUE_SLACK_MILLIS = 5;

  /**
   * Moves due members of a shard's delayed set to their streams, atomically, by Redis's own clock.
   * Answers {moved, millis until the next one is due or -1}. The streams are not declared keys:
   * they are the shard's, so they share the delayed set's hash tag and live in its slot.
   */
  private static final RedisScript PROMOTE_DUE =
      new RedisScript(
          """
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
      for _, member in ipairs(due) do
        local bar = string.find(member, '|', 1, true)
        redis.call('XADD', string.sub(member, 1, bar - 1), '*', ARGV[2], string.sub(member, bar + 1))
        redis.call('ZREM', KEYS[1], member)
      end
      local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
      if nxt[2] then return {#due, tonumber(nxt[2]) - now} end
      return {#due, -1}""");

  /**
   * A job to signal: where it waits (queue and type), in which band, from when. {@code runAt} null
   * means now.
   */
  public record Signal(UUID jobId, String queue, String type, int priority, Instant runAt) {
    public static Signal of(Job job) {
      return new Signal(job.id(), job.queue(), job.type(), job.priority(), job.runAt());
    }

    /**
     * The signal of the job a row names, with its {@code id, queue, type, priority} and, if the row
     * has one, {@code run_at}.
     */
    public static Signal of(io.vertx.sqlclient.Row row) {
      int runAt = row.getColumnIndex("run_at");
      return new Signal(
          row.getUUID("id"),
          row.getString("queue"),
          row.getString("type"),
          row.getInteger("priority"),
          runAt < 0 || row.getValue(runAt) == null
              ? null
              : row.getOffsetDateTime(runAt).toInstant());
    }
  }

  /**
   * What one promotion pass did: the most moved from one shard (at the limit, call again at once),
   * and how long until the next signal of any shard is due (-1: none waits).
   */
  public record Promotion(long moved, long millisUntilNext) {}

  private final Redis redis;
  private final Keys keys;
  private final SqlClient pg;

  /** Built once: it runs for every finish batch that ends a keyed job. */
  private final SqlTemplate<Map<String, Object>, RowSet<Row>> nextOfKeys;

  private final String wakeChannel;

  /** The signals of the Spool these settings describe. */
  public static QueueSignals of(Redis redis, SqlClient pg, SpoolConfig config) {
    return new QueueSignals(redis, config.keys(), pg, ClaimSql.wakeChannel(config));
  }

  public QueueSignals(Redis redis, Keys keys, SqlClient pg, String wakeChannel) {
    this.redis = redis;
    this.keys = keys;
    this.pg = pg;
    this.nextOfKeys = SqlTemplate.forQuery(pg, ClaimSql.NEXT_OF_KEYS);
    this.wakeChannel = wakeChannel;
  }

  /** Wakes workers waiting on Postgres; fails only if Postgres is unreachable too. */
  private Future<Void> wakeThroughPostgres() {
    return SqlTemplate.forQuery(pg, ClaimSql.WAKE)
        .execute(Map.of("channel", wakeChannel))
        .mapEmpty();
  }

  public Future<Void> signal(Collection<Signal> jobs) {
    if (jobs.isEmpty()) {
      return Future.succeededFuture();
    }
    long dueBy = System.currentTimeMillis() + DUE_SLACK_MILLIS;
    var requests = new ArrayList<Request>(jobs.size());
    for (Signal job : jobs) {
      int shard = keys.shardOf(job.jobId());
      String stream = keys.queueStream(job.queue(), shard, job.type(), job.priority());
      if (job.runAt() != null && job.runAt().toEpochMilli() > dueBy) {
        requests.add(
            Request.cmd(Command.ZADD)
                .arg(keys.delayed(job.queue(), shard))
                .arg(job.runAt().toEpochMilli())
                .arg(stream + "|" + job.jobId()));
      } else {
        requests.add(
            Request.cmd(Command.XADD)
                .arg(stream)
                .arg("*")
                .arg(Keys.FIELD_JOB_ID)
                .arg(job.jobId().toString()));
      }
    }
    return Pipeline.send(redis, keys, requests)
        .<Void>mapEmpty()
        .recover(e -> wakeThroughPostgres());
  }

  /**
   * These jobs just stopped running (or pending): signals the job each one's concurrency key lets
   * start next, if any. Jobs without a key cost one indexed look-up and nothing else.
   */
  public Future<Void> releaseConcurrencyKeys(Collection<UUID> jobIds) {
    if (jobIds.isEmpty()) {
      return Future.succeededFuture();
    }
    return nextOfKeys
        .execute(Map.of("ids", jobIds.toArray(UUID[]::new)))
        .compose(
            rows -> {
              var next = new ArrayList<Signal>();
              rows.forEach(row -> next.add(Signal.of(row)));
              return signal(next);
            });
  }

  /**
   * Tells the workers that running job {@code jobId} was asked to cancel (its worker interrupts the
   * handler). Only the fast path: the durable request is the job's {@code cancel_requested} flag,
   * which the worker's next heartbeat reads if this message is lost.
   */
  public Future<Void> askToCancel(UUID jobId) {
    return redis
        .send(Request.cmd(keys.publish()).arg(keys.cancelChannel()).arg(jobId.toString()))
        .mapEmpty();
  }

  /**
   * Moves up to {@code limit} due delayed signals per shard of these queues to their streams: one
   * script call per shard, sent together.
   */
  public Future<Promotion> promoteDue(Collection<String> queues, int limit) {
    var calls = new ArrayList<RedisScript.Call>();
    for (String queue : queues) {
      for (int shard = 0; shard < keys.shards(); shard++) {
        calls.add(
            PROMOTE_DUE
                .call()
                .arg(1)
                .arg(keys.delayed(queue, shard))
                .arg(limit)
                .arg(Keys.FIELD_JOB_ID));
      }
    }
    return PROMOTE_DUE
        .run(redis, calls, keys.cluster())
        .map(
            replies -> {
              long moved = 0;
              long next = -1;
              for (var reply : replies) {
                moved = Math.max(moved, reply.get(0).toLong());
                long until = reply.get(1).toLong();
                if (until >= 0 && (next < 0 || until < next)) {
                  next = until;
                }
              }
              return new Promotion(moved, next);
            });
  }
}
