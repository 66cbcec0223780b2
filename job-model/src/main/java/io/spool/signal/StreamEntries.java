package io.spool.signal;

import io.spool.model.JobIds;
import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/** Reads XREADGROUP replies, in RESP2 (arrays) or RESP3 (maps) form. */
public final class StreamEntries {
  /** One signal: a stream entry naming a job. {@code jobId} is null if the entry is malformed. */
  public record Entry(String stream, String entryId, UUID jobId) {}

  private StreamEntries() {}

  public static List<Entry> parse(Response reply) {
    var entries = new ArrayList<Entry>();
    if (reply == null) {
      return entries;
    }
    if (reply.isMap()) {
      for (String stream : reply.getKeys()) {
        addAll(stream, reply.get(stream), entries);
      }
    } else {
      for (Response streamAndEntries : reply) {
        addAll(streamAndEntries.get(0).toString(), streamAndEntries.get(1), entries);
      }
    }
    return entries;
  }

  /** The entries an XAUTOCLAIM reply moved to us: {@code [next-cursor, entries, deleted-ids]}. */
  public static List<Entry> parseAutoclaim(String stream, Response reply) {
    var entries = new ArrayList<Entry>();
    if (reply != null && reply.size() > 1) {
      addAll(stream, reply.get(1), entries);
    }
    return entries;
  }

  private static void addAll(String stream, Response list, List<Entry> out) {
    if (list == null) {
      return;
    }
    for (Response entry : list) {
      if (entry == null || entry.size() < 2) {
        continue; // an entry deleted from the stream while pending
      }
      out.add(new Entry(stream, entry.get(0).toString(), jobId(entry.get(1))));
    }
  }

  private static UUID jobId(Response fields) {
    if (fields == null) {
      return null;
    }
    if (fields.isMap()) {
      Response id = fields.get(Keys.FIELD_JOB_ID);
      return id == null ? null : JobIds.parse(id.toString()).orElse(null);
    }
    for (int i = 0; i + 1 < fields.size(); i += 2) {
      if (Keys.FIELD_JOB_ID.equals(fields.get(i).toString())) {
        return JobIds.parse(fields.get(i + 1).toString()).orElse(null);
      }
    }
    return null;
  }
}
