package io.spool.gateway;

import static io.spool.gateway.JobAnswers.jobsBody;
import static io.spool.gateway.JobAnswers.sendJson;
import static io.spool.gateway.RequestParts.pathId;
import static io.spool.gateway.RequestParts.query;

import io.spool.model.Job;
import io.spool.model.JobStatus;
import io.spool.model.Names;
import io.spool.store.JobRows;
import io.spool.store.UserJobSql;
import io.vertx.core.Future;
import io.vertx.ext.web.RoutingContext;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.templates.SqlTemplate;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.UUID;
import java.util.stream.Collectors;

/**
 * Reading jobs: GET /v1/jobs/{id} (with the long-poll), and the pages of GET /v1/jobs and GET
 * /v1/dlq with their cursors. Every read is scoped to the calling user.
 */
final class JobQueryHandler {
  static final int DEFAULT_PAGE = 50;
  static final int MAX_PAGE = 500;
  static final int MAX_WAIT_SECS = 60;

  private final SqlClient pg;
  private final JobReader reader;
  private final JobStreams streams;

  JobQueryHandler(SqlClient pg, JobReader reader, JobStreams streams) {
    this.pg = pg;
    this.reader = reader;
    this.streams = streams;
  }

  /**
   * The job. With {@code ?wait_secs=N} (at most {@value #MAX_WAIT_SECS}) an unfinished job is
   * answered as soon as it ends, or as it is after N seconds: a long-poll, woken by the job's
   * events rather than by polling Postgres.
   */
  void get(RoutingContext ctx) {
    UUID id = pathId(ctx);
    String user = ApiRoutes.user(ctx);
    int waitSecs = waitSecs(ctx);
    Future<Job> answer =
        waitSecs == 0
            ? reader.load(id, user)
            : streams
                .watchForEnd(id, Duration.ofSeconds(waitSecs))
                // Listening before the first read: an end after it wakes the wait; one before it
                // shows in it.
                .compose(
                    watch ->
                        reader
                            .load(id, user)
                            .compose(
                                job ->
                                    job.status().isFinished()
                                        ? Future.succeededFuture(job)
                                        : watch.ended().compose(v -> reader.load(id, user)))
                            .onComplete(done -> watch.close().run()));
    answer.onSuccess(job -> sendJson(ctx, 200, job)).onFailure(ctx::fail);
  }

  private static int waitSecs(RoutingContext ctx) {
    String text = query(ctx, "wait_secs");
    if (text == null) {
      return 0;
    }
    try {
      int secs = Integer.parseInt(text);
      if (secs >= 0 && secs <= MAX_WAIT_SECS) {
        return secs;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw Problem.badRequest("wait_secs must be a whole number from 0 to " + MAX_WAIT_SECS)
        .exception();
  }

  void list(RoutingContext ctx) {
    page(ctx, false);
  }

  void listDeadLetters(RoutingContext ctx) {
    page(ctx, true);
  }

  private void page(RoutingContext ctx, boolean deadLetters) {
    String status = query(ctx, "status");
    if (deadLetters && status != null) {
      throw Problem.badRequest(
              "the dead-letter queue holds failed jobs only; status is not a filter here")
          .exception();
    }
    if (status != null && JobStatus.fromWire(status).isEmpty()) {
      throw Problem.badRequest(
              "status must be one of "
                  + Arrays.stream(JobStatus.values())
                      .map(JobStatus::wire)
                      .collect(Collectors.joining(", ")))
          .exception();
    }
    String type = query(ctx, "type");
    if (type != null && !Names.JOB_TYPE.matcher(type).matches()) {
      throw Problem.badRequest("type must be " + Names.NAME_RULE).exception();
    }
    int limit = DEFAULT_PAGE;
    String limitText = query(ctx, "limit");
    if (limitText != null) {
      try {
        limit = Integer.parseInt(limitText);
      } catch (NumberFormatException e) {
        limit = -1;
      }
      if (limit < 1 || limit > MAX_PAGE) {
        throw Problem.badRequest("limit must be a whole number from 1 to " + MAX_PAGE).exception();
      }
    }
    String cursorText = query(ctx, "cursor");
    UUID after = cursorText == null ? null : decodeCursor(cursorText);

    int pageSize = limit;
    var params = new HashMap<String, Object>();
    params.put("user", ApiRoutes.user(ctx));
    params.put("status", status);
    params.put("type", type);
    params.put("after", after);
    params.put("limit", pageSize + 1);
    SqlTemplate.forQuery(
            pg, UserJobSql.listOwn(status != null, type != null, after != null, deadLetters))
        .execute(params)
        .onSuccess(
            rows -> {
              var jobs = new ArrayList<Job>(pageSize);
              for (Row row : rows) {
                if (jobs.size() < pageSize) {
                  jobs.add(JobRows.toJob(row));
                }
              }
              var body = jobsBody(jobs);
              body.put(
                  "next_cursor",
                  rows.size() > pageSize ? encodeCursor(jobs.get(jobs.size() - 1).id()) : null);
              sendJson(ctx, 200, body);
            })
        .onFailure(ctx::fail);
  }

  static String encodeCursor(UUID id) {
    var bytes =
        ByteBuffer.allocate(16)
            .putLong(id.getMostSignificantBits())
            .putLong(id.getLeastSignificantBits());
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes.array());
  }

  static UUID decodeCursor(String cursor) {
    try {
      byte[] bytes = Base64.getUrlDecoder().decode(cursor);
      if (bytes.length == 16) {
        var buffer = ByteBuffer.wrap(bytes);
        return new UUID(buffer.getLong(), buffer.getLong());
      }
    } catch (IllegalArgumentException e) {
      // reported below
    }
    throw Problem.badRequest(
            "cursor is malformed; pass next_cursor from the previous page unchanged")
        .exception();
  }
}
