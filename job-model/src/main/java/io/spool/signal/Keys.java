package io.spool.signal;

import io.spool.model.Names;
import io.vertx.redis.client.Command;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Every Redis key Spool uses, in one place, laid out for a Redis Cluster: each key's hash tag (the
 * part in braces, which alone picks its slot) names what must live together and nothing more.
 *
 * <ul>
 *   <li>{@code {prefix/q/<queue>/<shard>[.<n>]}} ({@link #queueTag}): one shard of a queue, its
 *       streams (per job type and priority band), its delayed set, its epoch and its reconcile
 *       lock. A queue has {@link #shards} of them, and a job's shard follows from its id, so one
 *       busy queue spreads over every master.
 *   <li>{@code {prefix/j/<job id>}}: a job's event log, its counter and its channel.
 *   <li>{@code {prefix/u/<user>}}: a user's rate-limit bucket.
 *   <li>{@code {prefix}}: the global channels (cancellations, ended jobs).
 * </ul>
 *
 * On a cluster no script and no multi-key command spans two tags. On a single Redis (standalone or
 * behind Sentinel) every key is on one server, so there a pipeline, an XREADGROUP or a script still
 * covers several tags at once, the cheaper way; {@link #cluster} says which applies. ('/' is in no
 * prefix, queue or type name, so no two tags can be read alike.)
 *
 * <p>A queue's signals are split by job type: a worker reads only the streams of the types it
 * serves, so a job no live worker can run waits in its stream, neither consumed nor lost.
 *
 * @param prefix what every key starts with, so several Spools can share one Redis.
 * @param shards streams (and slots) per queue and type and band.
 * @param cluster whether the Redis is a cluster: commands must then stay within one tag, events go
 *     over sharded pub/sub ({@code SPUBLISH}), and pipelines are sent command by command.
 */
public record Keys(String prefix, int shards, boolean cluster) {
  /** The consumer group every worker joins on every queue stream. */
  public static final String GROUP = "workers";

  /** The field of a stream entry that holds the job id; entries carry nothing else that matters. */
  public static final String FIELD_JOB_ID = "id";

  /** Most shards a queue may have. */
  public static final int MAX_SHARDS = 64;

  public Keys {
    if (!Names.KEY_PREFIX.matcher(prefix).matches()) {
      throw new IllegalArgumentException("bad key prefix: " + prefix);
    }
    if (shards < 1 || shards > MAX_SHARDS) {
      throw new IllegalArgumentException("bad shard count: " + shards);
    }
  }

  /** One shard, a standalone Redis: the layout of the tests that do not care. */
  public Keys(String prefix) {
    this(prefix, 1, false);
  }

  /** The shard a job's signals go to: fixed by its id, so a reconciliation knows it too. */
  public int shardOf(UUID jobId) {
    return shards == 1
        ? 0
        : Math.floorMod(jobId.getLeastSignificantBits() ^ jobId.getMostSignificantBits(), shards);
  }

  /** One shard of a queue: what a Redis Cluster node holds of it, and may lose. */
  public record Shard(String queue, int index) {}

  /** Every shard of these queues. */
  public List<Shard> shardsOf(Collection<String> queues) {
    var all = new ArrayList<Shard>();
    queues.forEach(
        queue -> {
          for (int shard = 0; shard < shards; shard++) {
            all.add(new Shard(queue, shard));
          }
        });
    return all;
  }

  /** The streams of one shard for these types, highest band first. */
  public List<String> queueStreams(Shard shard, Collection<String> types) {
    var streams = new ArrayList<String>();
    for (int band : new int[] {1, 0, -1}) {
      for (String type : types) {
        streams.add(queueStream(shard.queue(), shard.index(), type, band));
      }
    }
    return streams;
  }

  /**
   * The hash tag of one shard of a queue: {@code {prefix/q/<queue>/<shard>}}, or with several
   * shards {@code {prefix/q/<queue>/<shard>.<n>}}, {@code n} the first number that puts the tag's
   * slot in the shard's own share of the 16,384 slots (shard {@code s} of {@code N}: from {@code
   * s/N} to {@code (s+1)/N} of them). A cluster made by {@code redis-cli --cluster create} gives
   * each master one such contiguous share, so N shards on N masters use every master, not the two
   * that N tags hashed at random would often share.
   */
  public String queueTag(String queue, int shard) {
    if (shards == 1) {
      return "{" + prefix + "/q/" + queue + "/0}";
    }
    return SHARD_TAGS.computeIfAbsent(
        prefix + "\0" + queue + "\0" + shard + "\0" + shards,
        k -> {
          int from = shard * SLOTS / shards;
          int to = (shard + 1) * SLOTS / shards;
          for (int n = 0; ; n++) {
            String tag = prefix + "/q/" + queue + "/" + shard + "." + n;
            int slot = slot(tag);
            if (slot >= from && slot < to) {
              return "{" + tag + "}";
            }
          }
        });
  }

  /** Redis Cluster's hash slots. */
  static final int SLOTS = 16384;

  /** Shard tags once found, by prefix, queue, shard and shard count. */
  private static final java.util.concurrent.ConcurrentHashMap<String, String> SHARD_TAGS =
      new java.util.concurrent.ConcurrentHashMap<>();

  /** The slot Redis Cluster gives a hash tag's text: CRC-16 (XMODEM) modulo 16,384. */
  static int slot(String tag) {
    int crc = 0;
    for (byte b : tag.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
      crc ^= (b & 0xff) << 8;
      for (int i = 0; i < 8; i++) {
        crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1;
      }
      crc &= 0xffff;
    }
    return crc % SLOTS;
  }

  /** The stream that signals a shard's pending jobs of one type and priority 0 to workers. */
  public String queueStream(String queue, int shard, String type) {
    return queueTag(queue, shard) + ":t:" + type;
  }

  /** The priority-0 stream of shard 0: where every job of a one-shard queue is signalled. */
  public String queueStream(String queue, String type) {
    return queueStream(queue, 0, type);
  }

  /**
   * The stream for a job of this type and priority in a shard. Streams are first in, first out, so
   * priorities act as three bands on Redis (above zero, zero, below zero), read in that order;
   * Postgres orders exactly.
   */
  public String queueStream(String queue, int shard, String type, int priority) {
    String stream = queueStream(queue, shard, type);
    return priority > 0 ? stream + ":high" : priority < 0 ? stream + ":low" : stream;
  }

  /** The stream a job's signal goes to. */
  public String queueStream(String queue, String type, int priority, UUID jobId) {
    return queueStream(queue, shardOf(jobId), type, priority);
  }

  /**
   * The streams of these queues and types in every shard, highest band first (then queue, shard and
   * type order).
   */
  public List<String> queueStreams(Collection<String> queues, Collection<String> types) {
    var streams = new ArrayList<String>();
    for (int band : new int[] {1, 0, -1}) {
      for (String queue : queues) {
        for (int shard = 0; shard < shards; shard++) {
          for (String type : types) {
            streams.add(queueStream(queue, shard, type, band));
          }
        }
      }
    }
    return streams;
  }

  /**
   * Signals of a shard's jobs not due yet: a sorted set scored by due time (epoch ms), member
   * "stream|job id", the stream being one of the shard's.
   */
  public String delayed(String queue, int shard) {
    return queueTag(queue, shard) + ":delayed";
  }

  /**
   * Set once per shard and never expired: if a worker finds it missing, the server holding the
   * shard has lost its data (restarted without persistence, flushed, failed over empty) and the
   * shard's pending jobs must be signalled again. It lives beside the shard's streams, so it is
   * lost exactly when they are.
   */
  public String epoch(String queue, int shard) {
    return queueTag(queue, shard) + ":epoch";
  }

  /**
   * Held by the one worker re-signalling a shard's pending jobs, so the others do not repeat it.
   */
  public String reconcileLock(String queue, int shard) {
    return queueTag(queue, shard) + ":reconcile";
  }

  /**
   * The pub/sub channel on which the gateway announces cancellations of running jobs (payload: job
   * id).
   */
  public String cancelChannel() {
    return globalTag() + ":cancel";
  }

  /** The hash tag of a job's event keys. */
  public String jobTag(UUID jobId) {
    return "{" + prefix + "/j/" + jobId + "}";
  }

  /**
   * A job's event log: a capped list of event JSON, oldest first. A list, not a stream: a new
   * stream takes a 4 KB node at its first entry (4,752 bytes for a three-event log against 312 as a
   * list), and appending to it costs several times more.
   */
  public String jobEvents(UUID jobId) {
    return jobTag(jobId) + ":evl";
  }

  /** The counter numbering a job's events. */
  public String jobEventSeq(UUID jobId) {
    return jobTag(jobId) + ":evseq";
  }

  /** The pub/sub channel on which a job's events are published as they are appended. */
  public String jobEventChannel(UUID jobId) {
    return jobTag(jobId) + ":evc";
  }

  /**
   * The pub/sub channel on which the ids of jobs that just ended are announced, space-separated,
   * one message per batch of events written: gateways subscribe to it once, so any number of
   * long-polls share one subscription and cost no Redis command each.
   */
  public String endedChannel() {
    return globalTag() + ":ended";
  }

  /** A user's request-rate bucket: a hash of {@code tokens} and {@code at} (Redis's clock, ms). */
  public String rateBucket(String user) {
    return "{" + prefix + "/u/" + user + "}:rate";
  }

  /** The patterns (for SCAN MATCH) that find every key of this prefix, and no other prefix's. */
  public List<String> patterns() {
    return List.of(globalTag() + "*", "{" + prefix + "/*");
  }

  /**
   * Splits keys into groups one command may cover: on a cluster, by hash tag (in first-seen order,
   * each group in the given order); on a single Redis, one group of all.
   */
  public List<List<String>> bySlot(List<String> keys) {
    if (!cluster || keys.size() < 2) {
      return keys.isEmpty() ? List.of() : List.of(keys);
    }
    Map<String, List<String>> groups = new LinkedHashMap<>();
    keys.forEach(key -> groups.computeIfAbsent(tagOf(key), t -> new ArrayList<>()).add(key));
    return List.copyOf(groups.values());
  }

  /** The hash tag of a key of this layout (the whole key if it has none). */
  static String tagOf(String key) {
    int open = key.indexOf('{');
    int close = open < 0 ? -1 : key.indexOf('}', open + 1);
    return close > open + 1 ? key.substring(open + 1, close) : key;
  }

  /**
   * PUBLISH, or on a cluster SPUBLISH, so a message goes only to the nodes of its channel's slot,
   * not over the whole cluster bus (as the name a script calls).
   */
  public String publishCommand() {
    return cluster ? "SPUBLISH" : "PUBLISH";
  }

  public Command publish() {
    return cluster ? Command.SPUBLISH : Command.PUBLISH;
  }

  /** SUBSCRIBE, or on a cluster SSUBSCRIBE (sent to the master of the channel's slot). */
  public Command subscribe() {
    return cluster ? Command.SSUBSCRIBE : Command.SUBSCRIBE;
  }

  public Command unsubscribe() {
    return cluster ? Command.SUNSUBSCRIBE : Command.UNSUBSCRIBE;
  }

  /** The first element of a pushed message: "message", or "smessage" on a cluster. */
  public String messageKind() {
    return cluster ? "smessage" : "message";
  }

  /** The first element of a subscription's confirmation: "subscribe" or "ssubscribe". */
  public String subscribedKind() {
    return cluster ? "ssubscribe" : "subscribe";
  }

  private String globalTag() {
    return "{" + prefix + "}";
  }
}
