package io.spool.model;

import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import java.util.ArrayList;
import java.util.Collection;
import java.util.UUID;

/**
 * Signals pending jobs to workers: one XADD per job on its queue's stream, all in one pipeline. A
 * signal is only a wake-up; losing or repeating one delays a job at worst (design note 2).
 */
public final class QueueSignals {
  /** A job to signal and the queue it waits in. */
  public record Signal(UUID jobId, String queue) {}

  private final Redis redis;
  private final Keys keys;

  public QueueSignals(Redis redis, Keys keys) {
    this.redis = redis;
    this.keys = keys;
  }

  public Future<Void> signal(Collection<Signal> jobs) {
    if (jobs.isEmpty()) {
      return Future.succeededFuture();
    }
    var adds = new ArrayList<Request>(jobs.size());
    for (Signal job : jobs) {
      adds.add(Request.cmd(Command.XADD).arg(keys.queueStream(job.queue())).arg("*")
          .arg(Keys.FIELD_JOB_ID).arg(job.jobId().toString()));
    }
    return redis.batch(adds).mapEmpty();
  }
}
