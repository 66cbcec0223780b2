package io.spool.signal;

import io.spool.model.Names;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Every Redis key Spool uses, in one place. All keys share the hash tag {@code {prefix}} so that
 * one XREADGROUP may read several queues' streams on a Redis Cluster (they must live in one slot).
 *
 * <p>A queue's signals are split by job type: a worker reads only the streams of the types it
 * serves, so a job no live worker can run waits in its stream, neither consumed nor lost.
 */
public record Keys(String prefix) {
  /** The consumer group every worker joins on every queue stream. */
  public static final String GROUP = "workers";

  /** The field of a stream entry that holds the job id; entries carry nothing else that matters. */
  public static final String FIELD_JOB_ID = "id";

  public Keys {
    if (!Names.KEY_PREFIX.matcher(prefix).matches()) {
      throw new IllegalArgumentException("bad key prefix: " + prefix);
    }
  }

  /**
   * The stream that signals a queue's pending jobs of one type and priority 0 to workers. ("t:", so
   * no queue's stream of the layout before types, {@code q:<queue>[:high|:low]}, is read as a
   * type's.)
   */
  public String queueStream(String queue, String type) {
    return tag() + ":q:" + queue + ":t:" + type;
  }

  /**
   * The stream for a job of this type and priority. Streams are first in, first out, so priorities
   * act as three bands on Redis (above zero, zero, below zero), read in that order; Postgres orders
   * exactly.
   */
  public String queueStream(String queue, String type, int priority) {
    String stream = queueStream(queue, type);
    return priority > 0 ? stream + ":high" : priority < 0 ? stream + ":low" : stream;
  }

  /** The streams of these queues and types, highest band first (then queue, then type order). */
  public List<String> queueStreams(Collection<String> queues, Collection<String> types) {
    var streams = new ArrayList<String>();
    for (int band : new int[] {1, 0, -1}) {
      for (String queue : queues) {
        for (String type : types) {
          streams.add(queueStream(queue, type, band));
        }
      }
    }
    return streams;
  }

  /**
   * The pub/sub channel on which the gateway announces cancellations of running jobs (payload: job
   * id).
   */
  public String cancelChannel() {
    return tag() + ":cancel";
  }

  /**
   * Set once and never expired: if a worker finds it missing, Redis has lost its data (restarted
   * without persistence, flushed, failed over empty) and the pending jobs must be signalled again.
   * Its name carries the stream layout's version ("t": streams per type), so the first worker of a
   * new layout finds it missing too and signals every pending job where the new layout has it.
   */
  public String epoch() {
    return tag() + ":epoch:t";
  }

  /** Held by the one worker re-signalling pending jobs, so the others do not repeat it. */
  public String reconcileLock() {
    return tag() + ":reconcile";
  }

  /**
   * A job's event log: a capped list of event JSON, oldest first. A list, not a stream: a new
   * stream takes a 4 KB node at its first entry (4,752 bytes for a three-event log against 312 as a
   * list), and appending to it costs several times more. ("evl", so a log written as a stream by an
   * older version is never appended to as a list.)
   */
  public String jobEvents(java.util.UUID jobId) {
    return tag() + ":evl:" + jobId;
  }

  /** The counter numbering a job's events. */
  public String jobEventSeq(java.util.UUID jobId) {
    return tag() + ":evseq:" + jobId;
  }

  /** The pub/sub channel on which a job's events are published as they are appended. */
  public String jobEventChannel(java.util.UUID jobId) {
    return tag() + ":evc:" + jobId;
  }

  /**
   * The pub/sub channel on which the ids of jobs that just ended are announced, space-separated,
   * one message per batch of events written: gateways subscribe to it once, so any number of
   * long-polls share one subscription and cost no Redis command each.
   */
  public String endedChannel() {
    return tag() + ":ended";
  }

  /**
   * Signals of jobs not due yet: a sorted set scored by due time (epoch ms), member "stream|job
   * id".
   */
  public String delayed() {
    return tag() + ":delayed";
  }

  /** A user's request-rate bucket: a hash of {@code tokens} and {@code at} (Redis's clock, ms). */
  public String rateBucket(String user) {
    return tag() + ":rate:" + user;
  }

  private String tag() {
    return "{" + prefix + "}";
  }
}
