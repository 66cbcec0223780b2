package io.spool.signal;

import io.spool.model.Job;
import io.spool.signal.QueueSignals.Signal;
import io.spool.signal.StreamEntries.Entry;
import io.spool.store.ClaimSql;
import io.spool.store.JobRows;
import io.vertx.core.Future;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.templates.SqlTemplate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Claims in Postgres the jobs whose signals were read (design note 3 in docs/architecture.md), one
 * statement per read, for a Java worker or for a remote one through the gateway. Signals beyond
 * what the worker wants are put back for any worker; a signalled job still pending but not
 * claimable now (not due by Postgres's clock, or locked by another claim) is signalled again; then
 * every signal read is acknowledged: from the claim on, Postgres and the lease recover the job, so
 * no signal is lost here.
 */
public final class SignalClaimer {
  private static final Logger log = LoggerFactory.getLogger(SignalClaimer.class);

  /** A signal that came too early goes back to the delayed set for at least this long. */
  private static final Duration MIN_REDELAY = Duration.ofMillis(20);

  // Built once: a template parses its statement when made, and these run per read.
  private final SqlTemplate<Map<String, Object>, RowSet<Row>> claimByIds;
  private final SqlTemplate<Map<String, Object>, RowSet<Row>> pendingAmong;
  private final QueueSignals signals;
  private final ConsumerGroup group;

  public SignalClaimer(SqlClient pg, QueueSignals signals, ConsumerGroup group) {
    this.claimByIds = SqlTemplate.forQuery(pg, ClaimSql.CLAIM);
    this.pendingAmong = SqlTemplate.forQuery(pg, ClaimSql.SELECT_PENDING_AMONG);
    this.signals = signals;
    this.group = group;
  }

  /**
   * Claims for {@code worker}, which serves job {@code types}, up to {@code wanted} of the jobs
   * these signals name; answers the claimed jobs.
   */
  public Future<List<Job>> claim(List<Entry> entries, int wanted, String worker, String[] types) {
    Set<UUID> ids = new LinkedHashSet<>();
    var extra = new ArrayList<Entry>();
    for (Entry entry : entries) {
      if (entry.jobId() == null || ids.contains(entry.jobId())) {
        continue; // a duplicate signal: the claim of the first decides
      }
      if (ids.size() < wanted) {
        ids.add(entry.jobId());
      } else {
        extra.add(entry);
      }
    }
    if (ids.isEmpty()) {
      return group.putBack(extra).compose(v -> acknowledge(entries)).map(v -> List.of());
    }
    return group
        .putBack(extra)
        .compose(
            v ->
                claimByIds.execute(
                    Map.of("ids", ids.toArray(UUID[]::new), "worker", worker, "types", types)))
        .compose(
            rows -> {
              var claimed = new ArrayList<Job>(rows.size());
              for (Row row : rows) {
                Job job = JobRows.toJob(row);
                claimed.add(job);
                ids.remove(job.id());
              }
              Future<Void> again = ids.isEmpty() ? Future.succeededFuture() : signalAgain(ids);
              return again.compose(v -> acknowledge(entries)).map(v -> (List<Job>) claimed);
            });
  }

  /** Acknowledges every signal read; a failure only leaves them to be taken over later. */
  private Future<Void> acknowledge(List<Entry> entries) {
    group
        .ackAndDelete(entries)
        .onFailure(
            e -> log.warn("could not acknowledge {} signals: {}", entries.size(), e.toString()));
    return Future.succeededFuture();
  }

  /**
   * Signals again the unclaimed jobs still pending: when Postgres says they are due, not earlier.
   */
  private Future<Void> signalAgain(Set<UUID> unclaimed) {
    return pendingAmong
        .execute(Map.of("ids", unclaimed.toArray(UUID[]::new)))
        .compose(
            rows -> {
              var again = new ArrayList<Signal>();
              for (Row row : rows) {
                Duration dueIn = Duration.ofMillis(row.getLong("due_in_ms"));
                // Due later by Postgres's clock: delay by that much (at least a little), whatever
                // this JVM's clock says.
                Instant runAt =
                    dueIn.isPositive()
                        ? Instant.now().plus(dueIn.compareTo(MIN_REDELAY) > 0 ? dueIn : MIN_REDELAY)
                        : null;
                again.add(
                    new Signal(
                        row.getUUID("id"),
                        row.getString("queue"),
                        row.getString("type"),
                        row.getInteger("priority"),
                        runAt));
              }
              return signals.signal(again);
            });
  }
}
