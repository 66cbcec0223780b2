package io.spool.worker;

import io.spool.signal.Keys;
import io.spool.worker.StreamEntries.Entry;
import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Redis side of fetching: reads job signals from this worker's queue streams through the
 * consumer group, takes over signals other workers read but never claimed, and puts back signals it
 * cannot use. The blocking XREADGROUP has a connection of its own, the only one it holds whatever
 * the worker's concurrency. Call from the fetcher's virtual thread only; every call may throw what
 * the Redis client throws.
 */
final class SignalReader {
  private static final Logger log = LoggerFactory.getLogger(SignalReader.class);

  /** How long one XREADGROUP waits for a signal before it is sent again. */
  private static final Duration BLOCK = Duration.ofSeconds(2);

  private final Redis blockingRedis;
  private final Redis redis;
  private final String workerId;

  /** The queues' streams, highest priority band first. */
  private final List<String> streams;

  /** A signal read but unclaimed for this long may be taken over by another worker. */
  private final Duration visibilityTimeout;

  private RedisConnection connection;

  SignalReader(
      Redis blockingRedis,
      Redis redis,
      Keys keys,
      List<String> queues,
      String workerId,
      Duration visibilityTimeout) {
    this.blockingRedis = blockingRedis;
    this.redis = redis;
    this.workerId = workerId;
    this.visibilityTimeout = visibilityTimeout;
    this.streams =
        Stream.of(1, 0, -1)
            .flatMap(band -> queues.stream().map(q -> keys.queueStream(q, band)))
            .toList();
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
    createGroups(redis, streams).await();
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
   * there are none: one round trip however many queues and bands. Highest band first.
   */
  List<Entry> read(int wanted) {
    var read =
        Request.cmd(Command.XREADGROUP)
            .arg("GROUP")
            .arg(Keys.GROUP)
            .arg(workerId)
            .arg("COUNT")
            .arg(wanted)
            .arg("BLOCK")
            .arg(BLOCK.toMillis())
            .arg("STREAMS");
    streams.forEach(read::arg);
    streams.forEach(stream -> read.arg(">"));
    var entries = new ArrayList<>(StreamEntries.parse(connection.send(read).await()));
    // A RESP3 reply is a map: its streams come in no particular order. Highest band first again.
    entries.sort(Comparator.comparingInt(entry -> streams.indexOf(entry.stream())));
    return entries;
  }

  /**
   * XAUTOCLAIMs signals idle for the visibility timeout in any consumer's hands, up to {@code
   * wanted} per stream.
   */
  List<Entry> takeOverAbandoned(int wanted) {
    var found = new ArrayList<Entry>();
    for (String stream : streams) {
      found.addAll(
          StreamEntries.parseAutoclaim(
              stream,
              redis
                  .send(
                      Request.cmd(Command.XAUTOCLAIM)
                          .arg(stream)
                          .arg(Keys.GROUP)
                          .arg(workerId)
                          .arg(visibilityTimeout.toMillis())
                          .arg("0-0")
                          .arg("COUNT")
                          .arg(wanted))
                  .await()));
    }
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
    if (entries.isEmpty()) {
      return;
    }
    var adds = new ArrayList<Request>(entries.size());
    for (Entry entry : entries) {
      adds.add(
          Request.cmd(Command.XADD)
              .arg(entry.stream())
              .arg("*")
              .arg(Keys.FIELD_JOB_ID)
              .arg(entry.jobId().toString()));
    }
    redis.batch(adds).await();
  }

  /** Creates the consumer group on each queue stream (and the stream), reading from the start. */
  static Future<Void> createGroups(Redis redis, List<String> streams) {
    var creates = new ArrayList<Future<?>>();
    for (String stream : streams) {
      creates.add(
          redis
              .send(
                  Request.cmd(Command.XGROUP)
                      .arg("CREATE")
                      .arg(stream)
                      .arg(Keys.GROUP)
                      .arg("0")
                      .arg("MKSTREAM"))
              .recover(
                  e ->
                      e.getMessage() != null && e.getMessage().startsWith("BUSYGROUP")
                          ? Future.succeededFuture()
                          : Future.failedFuture(e)));
    }
    return Future.all(creates).mapEmpty();
  }
}
