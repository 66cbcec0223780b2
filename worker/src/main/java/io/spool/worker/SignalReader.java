package io.spool.worker;

import io.spool.signal.ConsumerGroup;
import io.spool.signal.Keys;
import io.spool.signal.Keys.Shard;
import io.spool.signal.RedisClients;
import io.spool.signal.StreamEntries.Entry;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Response;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Redis side of fetching: reads job signals from the streams of this worker's queues and job
 * types through the consumer group, takes over signals other workers read but never claimed, and
 * puts back signals it cannot use. The blocking XREADGROUP has a connection of its own, the only
 * one it holds whatever the worker's concurrency; on a Redis Cluster, where one XREADGROUP covers
 * only streams of one slot, it holds one per queue shard (each a cluster connection, reaching the
 * masters), with a read waiting on each, and takes what the first to answer brings. Call from the
 * fetcher's virtual thread only; every call may throw what the Redis client throws.
 */
final class SignalReader {
  private static final Logger log = LoggerFactory.getLogger(SignalReader.class);

  /** How long one XREADGROUP waits for a signal before it is sent again. */
  private static final Duration BLOCK = Duration.ofSeconds(2);

  private final Redis blockingRedis;
  private final ConsumerGroup group;
  private final String workerId;

  /** The streams of the queues and types, highest priority band first. */
  private final List<String> streams;

  /** The streams by slot: one group on a single Redis, one per queue shard on a cluster. */
  private final List<List<String>> slots;

  /** Every shard of the worker's queues, and per slot group the shards it reads. */
  private final List<Shard> shards;

  private final List<List<Shard>> shardsOfSlot = new ArrayList<>();

  /** The shards whose reads failed since {@link #takeFailed}: to signal again once back. */
  private final Set<Shard> failed = new LinkedHashSet<>();

  /** A signal read but unclaimed for this long may be taken over by another worker. */
  private final Duration visibilityTimeout;

  /** Per slot group, its blocking connection (all null while disconnected). */
  private final RedisConnection[] connections;

  /** Per slot group, the read waiting on its connection, if one is. */
  private final List<Future<Response>> waiting;

  SignalReader(
      Redis blockingRedis,
      Redis redis,
      Keys keys,
      List<String> queues,
      Collection<String> types,
      String workerId,
      Duration visibilityTimeout) {
    this.blockingRedis = blockingRedis;
    this.group = new ConsumerGroup(redis, keys);
    this.workerId = workerId;
    this.visibilityTimeout = visibilityTimeout;
    this.streams = keys.queueStreams(queues, types);
    this.shards = keys.shardsOf(queues);
    if (keys.cluster()) {
      this.slots = new ArrayList<>();
      for (Shard shard : shards) {
        slots.add(keys.queueStreams(shard, types));
        shardsOfSlot.add(List.of(shard));
      }
    } else {
      this.slots = List.of(streams);
      shardsOfSlot.add(shards);
    }
    this.connections = new RedisConnection[slots.size()];
    this.waiting = new ArrayList<>(Collections.nCopies(slots.size(), null));
  }

  /**
   * Opens the blocking connections and makes sure every stream has the consumer group, if not done
   * since the last {@link #disconnect}. Answers whether it connected now.
   */
  boolean connect() {
    if (connections[0] != null) {
      return false;
    }
    try {
      for (int i = 0; i < connections.length; i++) {
        connections[i] = blockingRedis.connect().await();
      }
      group.create(streams).await();
    } catch (Throwable e) { // the Redis client's errors are Throwables, not Exceptions
      disconnect();
      failedAll();
      throw e;
    }
    return true;
  }

  /** Every shard of the worker's queues. */
  List<Shard> shards() {
    return shards;
  }

  /**
   * The shards whose reads failed since the last call (all of them if something else failed first):
   * what may have missed signals while Redis was out of reach.
   */
  List<Shard> takeFailed() {
    var taken = List.copyOf(failed);
    failed.clear();
    return taken;
  }

  /** A call failed that is not one shard's read: every shard may have missed signals. */
  void failedAll() {
    if (failed.isEmpty()) {
      failed.addAll(shards);
    }
  }

  /** Drops the blocking connections (Redis failed); the next {@link #connect} opens new ones. */
  void disconnect() {
    for (int i = 0; i < connections.length; i++) {
      if (connections[i] != null) {
        RedisClients.closeQuietly(connections[i]);
        connections[i] = null;
      }
      waiting.set(i, null);
    }
  }

  /** Closes the blocking client: the fetcher is stopping, and a read in progress ends now. */
  Future<Void> close() {
    return blockingRedis.close();
  }

  /**
   * Up to {@code wanted} new signals from every stream, waiting a while for the next if there are
   * none: on a single Redis one round trip however many queues, types and bands, highest band
   * first. On a cluster each queue shard's read asks for a share of {@code wanted}, so that with
   * every shard busy they bring about {@code wanted} together; a read that answers after this call
   * returned is taken by the next.
   */
  List<Entry> read(int wanted) {
    if (slots.size() == 1) {
      try {
        var reply =
            connections[0]
                .send(ConsumerGroup.read(workerId, streams, wanted, BLOCK.toMillis()))
                .await();
        return ConsumerGroup.entries(reply, streams);
      } catch (Throwable e) {
        failed.addAll(shards);
        throw e;
      }
    }
    int share = Math.max(1, (wanted + slots.size() - 1) / slots.size());
    Promise<Void> first = Promise.promise();
    for (int i = 0; i < slots.size(); i++) {
      Future<Response> read = waiting.get(i);
      if (read == null) {
        read =
            connections[i].send(
                ConsumerGroup.read(workerId, slots.get(i), share, BLOCK.toMillis()));
        waiting.set(i, read);
      }
      read.onComplete(done -> first.tryComplete());
    }
    first.future().await();
    var entries = new ArrayList<Entry>();
    for (int i = 0; i < slots.size(); i++) {
      Future<Response> read = waiting.get(i);
      if (read.isComplete()) {
        waiting.set(i, null);
        if (read.failed()) {
          failed.addAll(shardsOfSlot.get(i));
          throw new IllegalStateException(
              "reading " + slots.get(i).get(0) + "'s slot failed", read.cause());
        }
        entries.addAll(ConsumerGroup.entries(read.result(), slots.get(i)));
      }
    }
    return entries;
  }

  /**
   * XAUTOCLAIMs signals idle for the visibility timeout in any consumer's hands, up to {@code
   * wanted} per stream.
   */
  List<Entry> takeOverAbandoned(int wanted) {
    var found = group.takeOverAbandoned(workerId, streams, visibilityTimeout, wanted).await();
    if (!found.isEmpty()) {
      log.info("took over {} signals that another worker read but never claimed", found.size());
    }
    return found;
  }

  /**
   * Adds these signals to their streams again, for any worker (this one read more than it can
   * start).
   */
  void putBack(Collection<Entry> entries) {
    group.putBack(entries).await();
  }
}
