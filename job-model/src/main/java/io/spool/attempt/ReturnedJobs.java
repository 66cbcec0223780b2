package io.spool.attempt;

import io.spool.model.JobStatus;
import io.spool.signal.JobEvents;
import io.spool.signal.JobEvents.NewEvent;
import io.spool.signal.QueueSignals;
import io.spool.signal.QueueSignals.Signal;
import io.vertx.core.Future;
import io.vertx.sqlclient.Row;
import java.util.ArrayList;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * Announces jobs whose running attempt ended without an outcome — lost with its worker (the lease
 * reaper) or handed back by a stopping worker, Java or remote — and that are now pending again,
 * dead-lettered or cancelled: each job's status change goes to its event log, the pending ones are
 * signalled again, and each one that ended lets the next job of its concurrency key start.
 */
public final class ReturnedJobs {
  private static final Logger log = LoggerFactory.getLogger(ReturnedJobs.class);

  private ReturnedJobs() {}

  /**
   * @param rows id (uuid or its text), queue, type, priority, status, attempts
   * @param why how the attempt ended, for the log: "lost its worker", "was handed back"
   * @param level how loudly to log each job
   */
  public static Future<Void> announce(
      Iterable<Row> rows, String why, Level level, JobEvents events, QueueSignals signals) {
    var again = new ArrayList<Signal>();
    var changes = new ArrayList<NewEvent>();
    var ended = new ArrayList<UUID>();
    for (Row row : rows) {
      UUID id = UUID.fromString(row.getValue("id").toString());
      JobStatus status = JobStatus.parse(row.getString("status"));
      log.atLevel(level).log("job {} {}; it is {} now", id, why, status.wire());
      changes.addAll(JobEvents.statusChange(id, status, row.getInteger("attempts")));
      if (status == JobStatus.PENDING) {
        again.add(
            new Signal(
                id,
                row.getString("queue"),
                row.getString("type"),
                row.getInteger("priority"),
                null));
      } else {
        ended.add(id);
      }
    }
    if (changes.isEmpty()) {
      return Future.succeededFuture();
    }
    Future<Void> logged =
        events
            .emit(changes)
            .recover(
                e -> {
                  log.debug("status events dropped: {}", e.toString());
                  return Future.succeededFuture();
                });
    // A job back to pending is still first of its concurrency key; one that ended lets the next
    // start.
    Future<Void> signalled =
        signals.signal(again).compose(v -> signals.releaseConcurrencyKeys(ended));
    return Future.all(logged, signalled).mapEmpty();
  }
}
