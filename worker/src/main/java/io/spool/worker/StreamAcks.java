package io.spool.worker;

import io.spool.signal.Keys;
import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Acknowledges stream entries whose work is settled, and deletes them, so a stream holds only
 * signals not yet handled (its length is the backlog). One pipeline for any number of entries.
 */
final class StreamAcks {
  private final Redis redis;

  StreamAcks(Redis redis) {
    this.redis = redis;
  }

  Future<Void> ackAndDelete(Collection<StreamEntries.Entry> entries) {
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
    return redis.batch(requests).mapEmpty();
  }
}
