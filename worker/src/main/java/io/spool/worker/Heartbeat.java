package io.spool.worker;

import io.spool.model.JobSql;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Proves this worker alive: one row update per interval, whatever the worker holds (design note 4).
 * The first beat registers the worker, before it claims anything. Each beat also picks up requests
 * to cancel jobs running here, in case the pub/sub message was missed.
 */
final class Heartbeat extends VerticleBase {
  private static final Logger log = LoggerFactory.getLogger(Heartbeat.class);

  private final SqlClient pg;
  private final String workerId;
  private final String[] queues;
  private final Duration interval;
  private final JobRunner runner;
  private long timer = -1;

  Heartbeat(SqlClient pg, String workerId, List<String> queues, Duration interval, JobRunner runner) {
    this.pg = pg;
    this.runner = runner;
    this.workerId = workerId;
    this.queues = queues.toArray(String[]::new);
    this.interval = interval;
  }

  @Override
  public Future<?> start() {
    return beat().onSuccess(v -> timer = vertx.setPeriodic(interval.toMillis(), id -> beat()
        .onFailure(e -> log.warn("heartbeat failed; if it stays down past the visibility timeout this worker's jobs "
            + "go to others: {}", e.toString()))));
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(timer);
    return Future.succeededFuture();
  }

  private Future<Void> beat() {
    return pg.preparedQuery(JobSql.HEARTBEAT).execute(Tuple.tuple().addString(workerId).addArrayOfString(queues))
        .compose(v -> pg.preparedQuery(JobSql.CANCEL_REQUESTED).execute(Tuple.of(workerId)))
        .map(rows -> {
          rows.forEach(row -> runner.cancel(row.getUUID(0)));
          return null;
        });
  }
}
