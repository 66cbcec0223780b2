package io.spool.gateway;

import io.spool.model.Job;
import io.spool.signal.ConsumerGroup;
import io.spool.signal.Keys;
import io.spool.signal.SignalClaimer;
import io.spool.signal.StreamEntries.Entry;
import io.spool.store.ClaimSql;
import io.spool.store.JobRows;
import io.spool.store.WorkerSql;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Redis;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.templates.SqlTemplate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Claims for remote workers, as a Java worker's fetcher does for itself: a blocking XREADGROUP on
 * the streams of the worker's queues and types (the remote worker is the consumer), then the fenced
 * claim of what the signals name ({@link SignalClaimer}). A waiting claim holds one connection of
 * the blocking client and nothing in Postgres. Now and then (every half visibility timeout per set
 * of streams) a claim first takes over signals read but never claimed and claims straight from
 * Postgres, so no job waits on a lost signal for long. While Redis is down, claims come straight
 * from Postgres.
 */
final class RemoteClaims {
  private static final Logger log = LoggerFactory.getLogger(RemoteClaims.class);

  /** While Redis is down, how often a waiting claim asks Postgres again. */
  private static final long POSTGRES_POLL_MILLIS = 1000;

  /** On a cluster, the longest one round of reads waits on each queue shard. */
  private static final long CLUSTER_ROUND_MILLIS = 1000;

  private final Vertx vertx;
  private final SqlClient pg;
  private final Redis blocking;
  private final ConsumerGroup group;
  private final SignalClaimer claimer;
  private final Keys keys;
  private final Duration visibilityTimeout;

  /** Stream sets whose consumer group exists. */
  private final Set<List<String>> grouped = ConcurrentHashMap.newKeySet();

  /** When each stream set's safety net is due next (System.nanoTime()). */
  private final Map<List<String>, Long> nextSafetyNet = new ConcurrentHashMap<>();

  RemoteClaims(
      Vertx vertx,
      SqlClient pg,
      Redis redis,
      Redis blocking,
      SignalClaimer claimer,
      Keys keys,
      Duration visibilityTimeout) {
    this.vertx = vertx;
    this.pg = pg;
    this.blocking = blocking;
    this.group = new ConsumerGroup(redis, keys);
    this.claimer = claimer;
    this.keys = keys;
    this.visibilityTimeout = visibilityTimeout;
  }

  /**
   * Claims up to {@code max} jobs of {@code queues} and {@code types} for remote worker {@code
   * worker}, waiting up to {@code wait} for the first; answers an empty list when the wait ends.
   * {@code gone}: whether the worker stopped waiting (its connection closed), so nothing more is
   * claimed for it.
   */
  Future<List<Job>> claim(
      String worker,
      List<String> queues,
      List<String> types,
      int max,
      Duration wait,
      BooleanSupplier gone) {
    List<String> streams = keys.queueStreams(queues, types);
    String[] typeArray = types.toArray(String[]::new);
    long deadline = System.nanoTime() + wait.toNanos();
    Future<Void> ready =
        grouped.contains(streams)
            ? Future.succeededFuture()
            : group.create(streams).onSuccess(v -> grouped.add(streams));
    return ready
        .compose(v -> safetyNet(worker, streams, queues, typeArray, max))
        .compose(
            early ->
                early.isEmpty()
                    ? readAndClaim(worker, streams, typeArray, max, deadline, gone)
                    : Future.succeededFuture(early))
        .recover(
            e -> {
              if (e instanceof WorkerGone) {
                return Future.failedFuture(e);
              }
              if (isNoGroup(e)) {
                grouped.remove(streams); // the stream was deleted (Redis lost its data): again
              }
              log.debug("claiming through Redis failed, claiming from Postgres: {}", e.toString());
              return fromPostgres(worker, queues, typeArray, max, deadline, gone);
            });
  }

  /**
   * If due for these streams: signals read but never claimed, then a claim straight from Postgres.
   */
  private Future<List<Job>> safetyNet(
      String worker, List<String> streams, List<String> queues, String[] types, int max) {
    long now = System.nanoTime();
    Long due = nextSafetyNet.get(streams);
    if (due != null && now - due < 0) {
      return Future.succeededFuture(List.of());
    }
    nextSafetyNet.put(streams, now + visibilityTimeout.dividedBy(2).toNanos());
    return group
        .takeOverAbandoned(worker, streams, visibilityTimeout, max)
        .compose(
            abandoned ->
                abandoned.isEmpty()
                    ? Future.succeededFuture(List.<Job>of())
                    : claimer.claim(abandoned, max, worker, types))
        .compose(
            jobs ->
                jobs.isEmpty()
                    ? claimNext(worker, queues, types, max)
                    : Future.succeededFuture(jobs));
  }

  private Future<List<Job>> readAndClaim(
      String worker,
      List<String> streams,
      String[] types,
      int max,
      long deadline,
      BooleanSupplier gone) {
    long leftMillis = Math.max(0, (deadline - System.nanoTime()) / 1_000_000);
    return read(worker, streams, max, leftMillis)
        .compose(
            entries -> {
              if (entries.isEmpty()) {
                // On a cluster a round waits only so long: wait on until the deadline.
                return leftMillis > CLUSTER_ROUND_MILLIS
                        && keys.bySlot(streams).size() > 1
                        && !gone.getAsBoolean()
                    ? readAndClaim(worker, streams, types, max, deadline, gone)
                    : Future.succeededFuture(List.<Job>of());
              }
              if (gone.getAsBoolean()) {
                // No one to hand the jobs to: the signals go back for any worker.
                return group
                    .putBack(entries)
                    .compose(v -> group.ackAndDelete(entries))
                    .map(v -> List.<Job>of());
              }
              return claimer
                  .claim(entries, max, worker, types)
                  .compose(
                      jobs -> {
                        if (!jobs.isEmpty() || System.nanoTime() - deadline >= 0) {
                          return Future.succeededFuture(jobs);
                        }
                        // Only stale signals, or none this worker may claim any more: a claim
                        // needs its row, which is gone once it was declared dead or removed (the
                        // signals went back for the others; this wait must not keep taking them).
                        return registered(worker)
                            .compose(
                                known ->
                                    known
                                        ? readAndClaim(worker, streams, types, max, deadline, gone)
                                        : Future.failedFuture(new WorkerGone(worker)));
                      });
            });
  }

  /**
   * Up to {@code max} new signals of the streams for {@code worker}, waiting up to {@code
   * leftMillis} for the first. On a cluster one XREADGROUP covers one queue shard's streams, so a
   * read waits on each shard at once (each on a connection of its own, for at most {@link
   * #CLUSTER_ROUND_MILLIS}, so none is held long after the first answered) and the first to bring
   * signals answers; signals another brings after that go back for any worker.
   */
  private Future<List<Entry>> read(String worker, List<String> streams, int max, long leftMillis) {
    List<List<String>> slots = keys.bySlot(streams);
    if (slots.size() == 1) {
      return blockingRead(worker, streams, max, leftMillis);
    }
    int share = Math.max(1, (max + slots.size() - 1) / slots.size());
    long block = Math.min(leftMillis, CLUSTER_ROUND_MILLIS);
    Promise<List<Entry>> first = Promise.promise();
    var left = new AtomicInteger(slots.size());
    var failures = new AtomicInteger();
    for (List<String> slot : slots) {
      blockingRead(worker, slot, share, block)
          .onComplete(
              done -> {
                if (done.succeeded()
                    && !done.result().isEmpty()
                    && !first.tryComplete(done.result())) {
                  List<Entry> late = done.result();
                  group.putBack(late).compose(v -> group.ackAndDelete(late));
                }
                if (done.failed()) {
                  failures.incrementAndGet();
                }
                if (left.decrementAndGet() == 0) {
                  if (failures.get() == slots.size()) {
                    first.tryFail(done.cause());
                  } else {
                    first.tryComplete(List.of());
                  }
                }
              });
    }
    return first.future();
  }

  private Future<List<Entry>> blockingRead(
      String worker, List<String> streams, int max, long blockMillis) {
    return blocking
        .connect()
        .compose(
            connection ->
                connection
                    .send(ConsumerGroup.read(worker, streams, max, blockMillis))
                    .eventually(connection::close))
        .map(reply -> ConsumerGroup.entries(reply, streams));
  }

  /** Whether {@code worker} is still registered. */
  private Future<Boolean> registered(String worker) {
    return SqlTemplate.forQuery(pg, WorkerSql.SELECT_REMOTE)
        .execute(Map.of("worker", worker))
        .map(rows -> rows.size() > 0);
  }

  /** The worker a claim waits for is no longer registered. */
  static final class WorkerGone extends RuntimeException {
    WorkerGone(String worker) {
      super("worker " + worker + " is no longer registered", null, false, false);
    }
  }

  /** Redis is down: claims from Postgres, asking again every second until the wait ends. */
  private Future<List<Job>> fromPostgres(
      String worker,
      List<String> queues,
      String[] types,
      int max,
      long deadline,
      BooleanSupplier gone) {
    if (gone.getAsBoolean()) {
      return Future.succeededFuture(List.of());
    }
    return claimNext(worker, queues, types, max)
        .compose(
            jobs -> {
              long leftMillis = (deadline - System.nanoTime()) / 1_000_000;
              if (!jobs.isEmpty() || leftMillis <= 0) {
                return Future.succeededFuture(jobs);
              }
              return vertx
                  .timer(Math.min(leftMillis, POSTGRES_POLL_MILLIS))
                  .compose(v -> fromPostgres(worker, queues, types, max, deadline, gone));
            });
  }

  private Future<List<Job>> claimNext(String worker, List<String> queues, String[] types, int max) {
    return SqlTemplate.forQuery(pg, ClaimSql.CLAIM_NEXT)
        .execute(
            Map.of(
                "queues",
                queues.toArray(String[]::new),
                "types",
                types,
                "worker",
                worker,
                "max",
                max))
        .map(
            rows -> {
              var jobs = new ArrayList<Job>(rows.size());
              for (Row row : rows) {
                jobs.add(JobRows.toJob(row));
              }
              return (List<Job>) jobs;
            });
  }

  private static boolean isNoGroup(Throwable e) {
    return e.getMessage() != null && e.getMessage().startsWith("NOGROUP");
  }
}
