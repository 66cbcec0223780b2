package io.spool.worker;

import io.spool.model.Job;
import io.spool.store.ClaimSql;
import io.spool.store.JobRows;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.templates.SqlTemplate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Claims straight from Postgres the jobs of this worker's queues and types, highest priority first
 * ({@code FOR UPDATE SKIP LOCKED}, a batch at a time): all the claiming while Redis is down, and a
 * safety net now and then while it is up. Woken by NOTIFY on the wake channel (gateways send one
 * when they cannot signal on Redis), with a slow poll behind it. Blocking: call from a virtual
 * thread.
 */
final class PostgresClaimer {
  /**
   * The safety-net poll while Redis is down: delayed jobs and lost wake-ups start at most this
   * late.
   */
  static final long POLL_MILLIS = 1000;

  private final Vertx vertx;
  private final SqlClient pg;
  private final String[] queues;
  private final String[] types;
  private final String workerId;
  private volatile Promise<Void> wake = Promise.promise();
  private volatile boolean woken;

  PostgresClaimer(
      Vertx vertx, SqlClient pg, List<String> queues, List<String> types, String workerId) {
    this.vertx = vertx;
    this.pg = pg;
    this.queues = queues.toArray(String[]::new);
    this.types = types.toArray(String[]::new);
    this.workerId = workerId;
  }

  /** A NOTIFY arrived: someone submitted or requeued jobs without a Redis signal. */
  void wake() {
    woken = true;
    wake.tryComplete();
  }

  /** Whether a wake-up arrived since the last call; clears it. */
  boolean takeWakeUp() {
    boolean was = woken;
    woken = false;
    return was;
  }

  List<Job> claimNext(int wanted) {
    var jobs = new ArrayList<Job>(wanted);
    for (Row row :
        SqlTemplate.forQuery(pg, ClaimSql.CLAIM_NEXT)
            .execute(Map.of("queues", queues, "types", types, "worker", workerId, "max", wanted))
            .await()) {
      jobs.add(JobRows.toJob(row));
    }
    return jobs;
  }

  /** Arms the wake-up: call before a claim, so a NOTIFY arriving during it is not missed. */
  void arm() {
    wake = Promise.promise();
    woken = false;
  }

  /** Waits for a wake-up since {@link #arm()}, or the poll. */
  void awaitWake() {
    Future.any(wake.future(), vertx.timer(POLL_MILLIS)).await();
  }
}
