package io.spool.model;

/**
 * Every Redis key Spool uses, in one place. All keys share the hash tag {@code {prefix}} so that one
 * XREADGROUP may read several queues' streams on a Redis Cluster (they must live in one slot).
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

  /** The stream that signals a queue's pending jobs to workers. */
  public String queueStream(String queue) {
    return tag() + ":q:" + queue;
  }

  private String tag() {
    return "{" + prefix + "}";
  }
}
