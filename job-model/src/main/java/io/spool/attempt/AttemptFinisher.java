package io.spool.attempt;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.model.Job;
import io.spool.model.JobJson;
import io.spool.model.JobStatus;
import io.spool.ops.SpoolMetrics;
import io.spool.signal.JobEvents;
import io.spool.signal.JobEvents.NewEvent;
import io.spool.signal.QueueSignals;
import io.spool.signal.QueueSignals.Signal;
import io.spool.store.AttemptSql;
import io.spool.store.GroupCommit;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.templates.SqlTemplate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the outcome of attempts, many per statement under load (group commit), each fenced by
 * {@code (id, attempt)}, for Java workers and for remote ones through the gateway. Failures with
 * attempts left go back to pending, due after their backoff, and are signalled again (to the
 * delayed set); then each job's status change goes to its event log.
 */
public final class AttemptFinisher {
  private static final Logger log = LoggerFactory.getLogger(AttemptFinisher.class);
  private static final int MAX_ROWS = 1000;
  private static final int MAX_IN_FLIGHT = 1;

  /**
   * How an attempt ended: completed with a result (as JSON text, encoded on the caller's thread),
   * failed with an error and the backoff a retry would wait (no retry at all if {@code retry} is
   * false), or cancelled. Everything in it can be stored: Postgres refuses U+0000 in text and
   * jsonb.
   */
  public record Outcome(
      JobStatus status, String resultJson, String error, long backoffMillis, boolean retry) {
    public static Outcome completed(JsonNode result) {
      String json = JobJson.encode(result);
      if (JobJson.hasNul(json, result)) {
        return failed(
            "the handler's result contains the character U+0000, which cannot be stored", 0);
      }
      return new Outcome(JobStatus.COMPLETED, json, null, 0, false);
    }

    /** Failed: retried after {@code backoffMillis} if the job has attempts left. */
    public static Outcome failed(String error, long backoffMillis) {
      return new Outcome(JobStatus.FAILED, null, error.replace('\u0000', ' '), backoffMillis, true);
    }

    /** Failed for good: dead-lettered whatever attempts remain (cancelled if that was asked). */
    public static Outcome failedForGood(String error) {
      return new Outcome(JobStatus.FAILED, null, error.replace('\u0000', ' '), 0, false);
    }

    public static Outcome cancelled() {
      return new Outcome(JobStatus.CANCELLED, null, "cancelled", 0, false);
    }

    /**
     * A failure or cancellation that keeps what the handler had done ({@code
     * PartialResultException}).
     */
    public Outcome withPartialResult(JsonNode partial) {
      if (partial == null || status == JobStatus.COMPLETED) {
        return this;
      }
      String json = JobJson.encode(partial);
      return JobJson.hasNul(json, partial)
          ? this
          : new Outcome(status, json, error, backoffMillis, retry);
    }
  }

  /**
   * An outcome to write; {@code ran}: how long the attempt ran, for the duration histogram (null:
   * since the attempt started, by Postgres's record of it).
   */
  private record Finish(UUID id, int attempt, Outcome outcome, Duration ran) {}

  /**
   * What a written outcome made of its job: {@code status} the job's status now (pending for a
   * failure that will be retried, due at {@code runAt}), and whether a cancel had been asked for.
   */
  public record Finished(
      JobStatus status,
      java.time.Instant runAt,
      boolean cancelRequested,
      String queue,
      String type) {}

  /** Built once: a template parses its statement when made, and this one runs per finish batch. */
  private final SqlTemplate<Map<String, Object>, RowSet<Row>> finishMany;

  private final QueueSignals signals;
  private final JobEvents events;
  private final GroupCommit<Finish, Finished> commits;
  private final SpoolMetrics metrics;

  public AttemptFinisher(
      Context context, SqlClient pg, QueueSignals signals, JobEvents events, SpoolMetrics metrics) {
    this.metrics = metrics;
    this.finishMany = SqlTemplate.forQuery(pg, AttemptSql.FINISH_MANY);
    this.signals = signals;
    this.events = events;
    this.commits =
        new GroupCommit<>(
            context, this::write, f -> 1, MAX_ROWS, MAX_IN_FLIGHT, metrics.batchSizes("finish"));
  }

  /**
   * Records the outcome; answers false if the attempt had been taken away (the fence matched
   * nothing).
   */
  public Future<Boolean> finish(Job job, Outcome outcome, Duration ran) {
    return finishing(job.id(), job.attempts(), outcome, ran).map(finished -> finished != null);
  }

  /**
   * Records the outcome of attempt {@code attempt} of job {@code id}; answers what it made of the
   * job, or null if the attempt had been taken away (the fence matched nothing).
   */
  public Future<Finished> finishing(UUID id, int attempt, Outcome outcome, Duration ran) {
    return commits.submit(new Finish(id, attempt, outcome, ran));
  }

  private Future<List<Finished>> write(List<Finish> batch) {
    int n = batch.size();
    var ends = new ArrayList<AttemptSql.Ending>(n);
    for (Finish finish : batch) {
      Outcome outcome = finish.outcome();
      ends.add(
          new AttemptSql.Ending(
              finish.id(),
              finish.attempt(),
              outcome.status(),
              outcome.resultJson(),
              outcome.error(),
              outcome.backoffMillis(),
              outcome.retry()));
    }
    return finishMany
        .execute(AttemptSql.finishParams(ends))
        .map(
            rows -> {
              // What each job whose fence matched became (pending: a failure that will be retried).
              Map<UUID, Finished> became = new HashMap<>();
              Map<UUID, java.time.Instant> startedAt = new HashMap<>();
              var retries = new ArrayList<Signal>();
              var changes = new ArrayList<NewEvent>();
              var keyed = new ArrayList<UUID>();
              for (Row row : rows) {
                if (row.getBoolean("keyed")) {
                  keyed.add(row.getUUID("id"));
                }
                JobStatus status = JobStatus.parse(row.getString("status"));
                startedAt.put(row.getUUID("id"), row.getOffsetDateTime("started_at").toInstant());
                became.put(
                    row.getUUID("id"),
                    new Finished(
                        status,
                        row.getOffsetDateTime("run_at").toInstant(),
                        row.getBoolean("cancel_requested"),
                        row.getString("queue"),
                        row.getString("type")));
                changes.addAll(
                    JobEvents.statusChange(row.getUUID("id"), status, row.getInteger("attempts")));
                if (status == JobStatus.PENDING) {
                  retries.add(Signal.of(row));
                }
              }
              events
                  .emit(changes)
                  .onFailure(e -> log.debug("status events dropped: {}", e.toString()));
              signals
                  .signal(retries)
                  .onFailure(
                      e ->
                          log.warn(
                              "could not signal {} retries; they wait in Postgres: {}",
                              retries.size(),
                              e.toString()));
              signals
                  .releaseConcurrencyKeys(keyed)
                  .onFailure(
                      e ->
                          log.warn(
                              "could not signal the next jobs of {} concurrency keys; the safety net claims them: {}",
                              keyed.size(),
                              e.toString()));
              var answers = new ArrayList<Finished>(n);
              for (Finish finish : batch) {
                Finished finished = became.get(finish.id());
                answers.add(finished);
                if (finished != null) {
                  metrics.attemptEnded(
                      finished.queue(),
                      finished.type(),
                      finished.status(),
                      finish.ran() != null
                          ? finish.ran()
                          : Duration.between(startedAt.get(finish.id()), java.time.Instant.now()));
                }
              }
              return answers;
            });
  }
}
