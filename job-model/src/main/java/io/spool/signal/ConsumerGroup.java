package io.spool.signal;

import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The workers' side of the queue streams' consumer group ({@link Keys#GROUP}), for Java workers and
 * for the gateway claiming on behalf of remote ones: creating it, acknowledging and deleting
 * entries whose work is settled (so a stream holds only signals not yet handled, and its length is
 * the backlog), and putting back signals a reader cannot use. One pipeline for any number of
 * entries.
 */
public final class ConsumerGroup {
  private final Redis redis;
  private final Keys keys;

  public ConsumerGroup(Redis redis, Keys keys) {
    this.redis = redis;
    this.keys = keys;
  }

  /** Creates the group on each stream (and the stream), reading from the start, unless it is. */
  public Future<Void> create(List<String> streams) {
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

  /**
   * Adds these signals to their streams again, for any reader (this one read more than it can
   * start, or its caller went away).
   */
  public Future<Void> putBack(Collection<StreamEntries.Entry> entries) {
    if (entries.isEmpty()) {
      return Future.succeededFuture();
    }
    var adds = new ArrayList<Request>(entries.size());
    for (StreamEntries.Entry entry : entries) {
      adds.add(
          Request.cmd(Command.XADD)
              .arg(entry.stream())
              .arg("*")
              .arg(Keys.FIELD_JOB_ID)
              .arg(entry.jobId().toString()));
    }
    return Pipeline.send(redis, keys, adds).mapEmpty();
  }

  /**
   * The XREADGROUP that reads up to {@code count} new signals for {@code consumer} from every
   * stream at once, waiting up to {@code blockMillis} for the first: one round trip however many
   * streams; {@code blockMillis} 0 does not wait. Send it on a connection of its own: it blocks the
   * connection while it waits. On a cluster the streams must share a slot ({@link Keys#bySlot}).
   */
  public static Request read(String consumer, List<String> streams, int count, long blockMillis) {
    var read =
        Request.cmd(Command.XREADGROUP)
            .arg("GROUP")
            .arg(Keys.GROUP)
            .arg(consumer)
            .arg("COUNT")
            .arg(count);
    if (blockMillis > 0) {
      read.arg("BLOCK").arg(blockMillis); // BLOCK 0 would wait for ever
    }
    read.arg("STREAMS");
    streams.forEach(read::arg);
    streams.forEach(stream -> read.arg(">"));
    return read;
  }

  /**
   * The entries of a {@link #read} reply, in the order of {@code streams} (a RESP3 reply is a map,
   * whose streams come in no particular order), so the highest band comes first.
   */
  public static List<StreamEntries.Entry> entries(Response reply, List<String> streams) {
    var entries = new ArrayList<>(StreamEntries.parse(reply));
    entries.sort(Comparator.comparingInt(entry -> streams.indexOf(entry.stream())));
    return entries;
  }

  /**
   * XAUTOCLAIMs for {@code consumer} the signals idle for {@code idle} in any consumer's hands
   * (read but never claimed by a worker that died), up to {@code count} per stream.
   */
  public Future<List<StreamEntries.Entry>> takeOverAbandoned(
      String consumer, List<String> streams, Duration idle, int count) {
    var claims = new ArrayList<Future<List<StreamEntries.Entry>>>();
    for (String stream : streams) {
      claims.add(
          redis
              .send(
                  Request.cmd(Command.XAUTOCLAIM)
                      .arg(stream)
                      .arg(Keys.GROUP)
                      .arg(consumer)
                      .arg(idle.toMillis())
                      .arg("0-0")
                      .arg("COUNT")
                      .arg(count))
              .map(reply -> StreamEntries.parseAutoclaim(stream, reply)));
    }
    return Future.all(claims)
        .map(
            all -> {
              var found = new ArrayList<StreamEntries.Entry>();
              for (int i = 0; i < claims.size(); i++) {
                found.addAll(all.<List<StreamEntries.Entry>>resultAt(i));
              }
              return found;
            });
  }

  /** Acknowledges and deletes these entries. */
  public Future<Void> ackAndDelete(Collection<StreamEntries.Entry> entries) {
    if (entries.isEmpty()) {
      return Future.succeededFuture();
    }
    Map<String, List<String>> byStream = new LinkedHashMap<>();
    entries.forEach(
        e -> byStream.computeIfAbsent(e.stream(), k -> new ArrayList<>()).add(e.entryId()));
    var requests = new ArrayList<Request>();
    byStream.forEach(
        (stream, ids) -> {
          var ack = Request.cmd(Command.XACK).arg(stream).arg(Keys.GROUP);
          var del = Request.cmd(Command.XDEL).arg(stream);
          ids.forEach(
              id -> {
                ack.arg(id);
                del.arg(id);
              });
          requests.add(ack);
          requests.add(del);
        });
    return Pipeline.send(redis, keys, requests).mapEmpty();
  }
}
