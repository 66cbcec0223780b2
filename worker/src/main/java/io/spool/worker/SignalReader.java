package io.spool.worker;

import io.spool.signal.ConsumerGroup;
import io.spool.signal.Keys;
import io.spool.signal.StreamEntries.Entry;
import io.vertx.core.Future;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Redis side of fetching: reads job signals from the streams of this worker's queues and job
 * types through the consumer group, takes over signals other workers read but never claimed, and
 * puts back signals it cannot use. The blocking XREADGROUP has a connection of its own, the only
 * one it holds whatever the worker's concurrency. Call from the fetcher's virtual thread only;
 * every call may throw what the Redis client throws.
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

  /** A signal read but unclaimed for this long may be taken over by another worker. */
  private final Duration visibilityTimeout;

  private RedisConnection connection;

  SignalReader(
      Redis blockingRedis,
      Redis redis,
      Keys keys,
      List<String> queues,
      Collection<String> types,
      String workerId,
      Duration visibilityTimeout) {
    this.blockingRedis = blockingRedis;
    this.group = new ConsumerGroup(redis);
    this.workerId = workerId;
    this.visibilityTimeout = visibilityTimeout;
    this.streams = keys.queueStreams(queues, types);
  }

  /**
   * Opens the blocking connection and makes sure every stream has the consumer group, if not done
   * since the last {@link #disconnect}. Answers whether it connected now.
   */
  boolean connect() {
    if (connection != null) {
      return false;
    }
    connection = blockingRedis.connect().await();
    group.create(streams).await();
    return true;
  }

  /** Drops the blocking connection (Redis failed); the next {@link #connect} opens a new one. */
  void disconnect() {
    if (connection != null) {
      connection.close();
      connection = null;
    }
  }

  /** Closes the blocking client: the fetcher is stopping, and a read in progress ends now. */
  Future<Void> close() {
    return blockingRedis.close();
  }

  /**
   * Up to {@code wanted} new signals from every stream at once, waiting a while for the next if
   * there are none: one round trip however many queues, types and bands. Highest band first.
   */
  List<Entry> read(int wanted) {
    var reply =
        connection.send(ConsumerGroup.read(workerId, streams, wanted, BLOCK.toMillis())).await();
    return ConsumerGroup.entries(reply, streams);
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
