package io.spool.worker;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.handler.AttemptLostException;
import io.spool.handler.JobContext;
import io.spool.model.Job;
import io.spool.model.JobEvent;
import io.spool.model.JobJson;
import io.spool.signal.JobEvents.NewEvent;
import io.spool.store.AttemptSql;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.templates.SqlTemplate;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/** The {@link JobContext} of one attempt. */
final class RunningJob implements JobContext {
  private static final Set<String> HANDLER_EVENT_TYPES = Set.of(JobEvent.PROGRESS, JobEvent.OUTPUT);

  private final Job job;
  private final EventWriter events;
  private final SqlClient pg;
  private final Vertx vertx;

  /** This attempt's own checkpoints win over the one it was claimed with. */
  private JsonNode checkpoint;

  RunningJob(Job job, EventWriter events, SqlClient pg, Vertx vertx) {
    this.job = job;
    this.vertx = vertx;
    this.events = events;
    this.pg = pg;
    this.checkpoint = job.checkpoint();
  }

  @Override
  public Job job() {
    return job;
  }

  @Override
  public void emit(String type, JsonNode data) {
    if (!HANDLER_EVENT_TYPES.contains(type)) {
      throw new IllegalArgumentException(
          "handlers emit " + HANDLER_EVENT_TYPES + " events, not '" + type + "'");
    }
    events.emit(new NewEvent(job.id(), type, job.attempts(), data));
  }

  /** Runs a fenced statement until Postgres answers; a stop while it waits ends the attempt. */
  private <T> T durably(Supplier<Future<T>> statement) {
    try {
      return PostgresRetry.untilAnswered(
          vertx, statement, "job " + job.id() + " attempt " + job.attempts());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AttemptLostException(e.getMessage());
    }
  }

  @Override
  public void checkpoint(JsonNode state) {
    String json = JobJson.encode(state);
    if (JobJson.hasNul(json, state)) {
      throw new IllegalArgumentException("a checkpoint cannot contain the character U+0000");
    }
    var saved =
        durably(
            () ->
                SqlTemplate.forQuery(pg, AttemptSql.SAVE_CHECKPOINT)
                    .execute(
                        Map.of("id", job.id(), "attempt", job.attempts(), "checkpoint", json)));
    if (saved.rowCount() == 0) {
      throw new AttemptLostException(
          "job " + job.id() + " attempt " + job.attempts() + " no longer holds the job");
    }
    checkpoint = state;
    events.emit(new NewEvent(job.id(), JobEvent.CHECKPOINT, job.attempts(), state));
  }

  @Override
  public JsonNode lastCheckpoint() {
    return checkpoint;
  }

  @Override
  public JsonNode once(String name, SideEffect effect) throws Exception {
    if (name == null || name.isEmpty() || name.length() > 200) {
      throw new IllegalArgumentException("a side effect's name must be 1-200 characters");
    }
    var recorded =
        durably(
            () ->
                SqlTemplate.forQuery(pg, AttemptSql.SELECT_SIDE_EFFECT)
                    .execute(Map.of("id", job.id(), "name", name)));
    if (recorded.size() > 0) {
      return JobJson.tree(recorded.iterator().next().getString("result"));
    }
    JsonNode result = effect.run(job.id() + ":" + name);
    String json = result == null ? null : JobJson.encode(result);
    var params =
        new HashMap<String, Object>(); // not Map.of: a side effect may return nothing (SQL NULL)
    params.put("id", job.id());
    params.put("name", name);
    params.put("attempt", job.attempts());
    params.put("result", json);
    var written =
        durably(() -> SqlTemplate.forQuery(pg, AttemptSql.RECORD_SIDE_EFFECT).execute(params));
    if (written.rowCount() == 0) {
      throw new AttemptLostException(
          "job "
              + job.id()
              + " attempt "
              + job.attempts()
              + " no longer holds the job; side effect '"
              + name
              + "' was done but not recorded");
    }
    return result;
  }
}
