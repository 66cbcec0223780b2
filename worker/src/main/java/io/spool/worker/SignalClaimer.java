package io.spool.worker;

import io.spool.model.Job;
import io.spool.signal.QueueSignals;
import io.spool.signal.QueueSignals.Signal;
import io.spool.store.ClaimSql;
import io.spool.store.JobRows;
import io.spool.worker.StreamEntries.Entry;
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
 * statement per read. Signals beyond the idle slots are put back for any worker; a signalled job
 * still pending but not claimable now (not due by Postgres's clock, or locked by another claim) is
 * signalled again; then every signal read is acknowledged: from the claim on, Postgres and the
 * lease recover the job, so no signal is lost here. Call from the fetcher's virtual thread only.
 */
final class SignalClaimer {
  private static final Logger log = LoggerFactory.getLogger(SignalClaimer.class);

  /** A signal that came too early goes back to the delayed set for at least this long. */
  private static final Duration MIN_REDELAY = Duration.ofMillis(20);

  // Built once: a template parses its statement when made, and these run per read.
  private final SqlTemplate<Map<String, Object>, RowSet<Row>> claimByIds;
  private final SqlTemplate<Map<String, Object>, RowSet<Row>> pendingAmong;
  private final String workerId;
  private final SignalReader reader;
  private final QueueSignals signals;
  private final StreamAcks acks;

  SignalClaimer(
      SqlClient pg, String workerId, SignalReader reader, QueueSignals signals, StreamAcks acks) {
    this.claimByIds = SqlTemplate.forQuery(pg, ClaimSql.CLAIM);
    this.pendingAmong = SqlTemplate.forQuery(pg, ClaimSql.SELECT_PENDING_AMONG);
    this.workerId = workerId;
    this.reader = reader;
    this.signals = signals;
    this.acks = acks;
  }

  /** Claims up to {@code wanted} of the jobs these signals name; answers the claimed jobs. */
  List<Job> claim(List<Entry> entries, int wanted) {
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
    reader.putBack(extra);
    var claimed = new ArrayList<Job>(ids.size());
    for (Row row :
        claimByIds.execute(Map.of("ids", ids.toArray(UUID[]::new), "worker", workerId)).await()) {
      Job job = JobRows.toJob(row);
      claimed.add(job);
      ids.remove(job.id());
    }
    if (!ids.isEmpty()) {
      signalAgainIfPending(ids);
    }
    acks.ackAndDelete(entries)
        .onFailure(
            e -> log.warn("could not acknowledge {} signals: {}", entries.size(), e.toString()));
    return claimed;
  }

  /**
   * Signals again the unclaimed jobs still pending: when Postgres says they are due, not earlier.
   */
  private void signalAgainIfPending(Set<UUID> unclaimed) {
    var again = new ArrayList<Signal>();
    for (Row row : pendingAmong.execute(Map.of("ids", unclaimed.toArray(UUID[]::new))).await()) {
      Duration dueIn = Duration.ofMillis(row.getLong("due_in_ms"));
      // Due later by Postgres's clock: delay by that much (at least a little), whatever this JVM's
      // clock says.
      Instant runAt =
          dueIn.isPositive()
              ? Instant.now().plus(dueIn.compareTo(MIN_REDELAY) > 0 ? dueIn : MIN_REDELAY)
              : null;
      again.add(
          new Signal(row.getUUID("id"), row.getString("queue"), row.getInteger("priority"), runAt));
    }
    if (!again.isEmpty()) {
      signals.signal(again).await();
    }
  }
}
