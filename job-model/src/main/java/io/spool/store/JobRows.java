package io.spool.store;

import io.spool.model.Job;
import io.spool.model.JobJson;
import io.spool.model.JobStatus;
import io.vertx.sqlclient.Row;
import java.time.Instant;
import java.time.OffsetDateTime;

/** The columns of a {@link Job} as statements select them, and the mapping of such a row. */
public final class JobRows {
  /** The columns of a {@link Job}, JSON columns as text for Jackson. */
  public static final String COLUMNS =
      "id, type, queue, user_id, request::text AS request, status, "
          + "result::text AS result, error, attempts, max_attempts, submitted_at, started_at, finished_at, "
          + "priority, run_at, timeout_secs, cancel_requested, callback_url, checkpoint::text AS checkpoint, concurrency_key, "
          + "retention_secs";

  private JobRows() {}

  /** Maps a row selected with {@link #COLUMNS} (and, if present, a {@code webhook} column). */
  public static Job toJob(Row row) {
    return new Job(
        row.getUUID("id"),
        row.getString("type"),
        row.getString("queue"),
        row.getString("user_id"),
        JobJson.tree(row.getString("request")),
        JobStatus.parse(row.getString("status")),
        JobJson.tree(row.getString("result")),
        row.getString("error"),
        row.getInteger("attempts"),
        row.getInteger("max_attempts"),
        instant(row.getOffsetDateTime("submitted_at")),
        instant(row.getOffsetDateTime("started_at")),
        instant(row.getOffsetDateTime("finished_at")),
        row.getInteger("priority"),
        instant(row.getOffsetDateTime("run_at")),
        row.getInteger("timeout_secs"),
        row.getBoolean("cancel_requested"),
        row.getString("callback_url"),
        JobJson.tree(row.getString("checkpoint")),
        row.getString("concurrency_key"),
        row.getInteger("retention_secs"),
        row.getColumnIndex("webhook") < 0 ? null : JobJson.tree(row.getString("webhook")));
  }

  private static Instant instant(OffsetDateTime time) {
    return time == null ? null : time.toInstant();
  }
}
