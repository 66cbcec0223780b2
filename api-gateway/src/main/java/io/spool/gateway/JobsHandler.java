package io.spool.gateway;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.spool.gateway.JobSubmitter.Submitted;
import io.spool.gateway.Problem.FieldError;
import io.spool.model.Job;
import io.spool.model.JobIds;
import io.spool.model.JobJson;
import io.spool.model.JobStatus;
import io.spool.model.Names;
import io.spool.model.NewJob;
import io.spool.ops.SpoolMetrics;
import io.spool.signal.JobEvents;
import io.spool.signal.Keys;
import io.spool.signal.QueueSignals;
import io.spool.signal.QueueSignals.Signal;
import io.spool.store.JobRows;
import io.spool.store.UserJobSql;
import io.vertx.core.Future;
import io.vertx.ext.web.RoutingContext;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.templates.SqlTemplate;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;

/** Submit, batch submit, get and list jobs. Every read is scoped to the calling user. */
final class JobsHandler {
  static final int DEFAULT_PAGE = 50;
  static final int MAX_PAGE = 500;
  static final int MAX_WAIT_SECS = 60;
  static final String IDEMPOTENCY_HEADER = "Idempotency-Key";

  private final SqlClient pg;
  private final JobStreams streams;
  private final JobEvents events;
  private final Redis redis;
  private final Keys keys;
  private final QueueSignals signals;
  private final JobSubmitter submitter;
  private final JobReader reader;
  private final JobTypes types;
  private final PendingJobs pending;
  private final SubmissionParser parser;
  private final SpoolMetrics metrics;

  JobsHandler(
      SqlClient pg,
      Redis redis,
      Keys keys,
      QueueSignals signals,
      JobEvents events,
      JobStreams streams,
      JobSubmitter submitter,
      JobReader reader,
      JobTypes types,
      SubmissionParser parser,
      PendingJobs pending,
      SpoolMetrics metrics) {
    this.reader = reader;
    this.metrics = metrics;
    this.pending = pending;
    this.pg = pg;
    this.events = events;
    this.streams = streams;
    this.redis = redis;
    this.keys = keys;
    this.signals = signals;
    this.submitter = submitter;
    this.types = types;
    this.parser = parser;
  }

  /**
   * POST /v1/jobs: 202 and the new job; with an idempotency key already used for the same request,
   * 200 and the job that request made ({@code Idempotent-Replayed: true}).
   */
  void submit(RoutingContext ctx) {
    var errors = new ArrayList<FieldError>();
    String headerKey = singleHeader(ctx, IDEMPOTENCY_HEADER);
    NewJob job = parser.parse(jsonBody(ctx), "", ApiRoutes.user(ctx), headerKey, errors);
    accept(ctx, errors.isEmpty() ? List.of(job) : List.of(), errors, false)
        .onSuccess(
            stored -> {
              Submitted submitted = stored.get(0);
              if (!submitted.created()) {
                ctx.response().putHeader("Idempotent-Replayed", "true");
              }
              ctx.response().putHeader("Location", "/v1/jobs/" + submitted.job().id());
              sendJson(ctx, submitted.created() ? 202 : 200, submitted.job());
            })
        .onFailure(ctx::fail);
  }

  /**
   * POST /v1/jobs/batch: 202 if any job was created, else 200 (every one was an idempotent replay).
   */
  void submitBatch(RoutingContext ctx) {
    var errors = new ArrayList<FieldError>();
    if (ctx.request().getHeader(IDEMPOTENCY_HEADER) != null) {
      errors.add(
          new FieldError(
              IDEMPOTENCY_HEADER, "not for batches: give each job its own idempotency_key"));
    }
    List<NewJob> jobs = parser.parseBatch(jsonBody(ctx), ApiRoutes.user(ctx), errors);
    accept(ctx, jobs, errors, true)
        .onSuccess(
            stored -> {
              boolean anyCreated = stored.stream().anyMatch(Submitted::created);
              sendJson(
                  ctx,
                  anyCreated ? 202 : 200,
                  jobsBody(stored.stream().map(Submitted::job).toList()));
            })
        .onFailure(ctx::fail);
  }

  /** A header that may appear at most once; two copies are a 400. */
  private static String singleHeader(RoutingContext ctx, String name) {
    List<String> values = ctx.request().headers().getAll(name);
    if (values.size() > 1) {
      throw Problem.badRequest(name + " is given " + values.size() + " times; send it once")
          .exception();
    }
    return values.isEmpty() ? null : values.get(0);
  }

  /**
   * Rejects the lot if anything is invalid, of an unknown type or calls back where it may not; else
   * commits them all at once.
   */
  private Future<List<Submitted>> accept(
      RoutingContext ctx, List<NewJob> jobs, List<FieldError> errors, boolean batch) {
    if (!errors.isEmpty()) {
      return Future.failedFuture(Problem.invalid(errors).exception());
    }
    Set<String> requested = jobs.stream().map(NewJob::type).collect(Collectors.toSet());
    return types
        .unknownAmong(requested)
        .compose(
            unknown -> {
              if (!unknown.isEmpty()) {
                var typeErrors = new ArrayList<FieldError>();
                String known = String.join(", ", types.known());
                for (int i = 0; i < jobs.size(); i++) {
                  if (unknown.contains(jobs.get(i).type())) {
                    String field = batch ? "jobs[" + i + "].type" : "type";
                    typeErrors.add(
                        new FieldError(
                            field,
                            "unknown job type '"
                                + jobs.get(i).type()
                                + "'; known types: "
                                + known));
                  }
                }
                return Future.failedFuture(Problem.invalid(typeErrors).exception());
              }
              // The cheap refusal before the DNS lookups; the room is held until the insert has
              // answered.
              if (!pending.reserve(jobs.size())) {
                ctx.response().putHeader("Retry-After", "1");
                return Future.failedFuture(
                    Problem.of(
                            429,
                            "queue-full",
                            "Too many pending jobs",
                            "Spool holds its limit of "
                                + pending.limit()
                                + " pending jobs (SPOOL_QUEUE_LIMIT); nothing was accepted, "
                                + "retry after the Retry-After seconds")
                        .exception());
              }
              return parser
                  .checkDestinationHosts(ctx.vertx(), jobs, batch)
                  .compose(
                      hostErrors ->
                          hostErrors.isEmpty()
                              ? submitter.submit(jobs)
                              : Future.failedFuture(Problem.invalid(hostErrors).exception()))
                  .onComplete(
                      done ->
                          pending.release(
                              jobs.size()
                                  - (done.succeeded()
                                      ? (int)
                                          done.result().stream().filter(Submitted::created).count()
                                      : 0)));
            });
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

  private static void sendJson(RoutingContext ctx, int status, Object body) {
    ctx.response()
        .setStatusCode(status)
        .putHeader("Content-Type", "application/json")
        .end(JobJson.encode(body));
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

  /**
   * Cancels a job: a pending one at once (200), a running one by flagging it and telling its
   * worker, which ends it within moments (202, still running in the answer). Anything else is 409.
   */
  void cancel(RoutingContext ctx) {
    UUID id = pathId(ctx);
    String user = ApiRoutes.user(ctx);
    SqlTemplate.forQuery(pg, UserJobSql.CANCEL)
        .execute(Map.of("id", id, "user", user))
        .compose(
            rows -> {
              if (rows.size() == 0) {
                return explainMiss(id, user, "only pending or running jobs can be cancelled");
              }
              Job job = JobRows.toJob(rows.iterator().next());
              if (job.status() != JobStatus.RUNNING) {
                metrics.cancelledWhilePending(job.queue(), job.type());
                Future<Void> released =
                    job.concurrencyKey() == null
                        ? Future.succeededFuture()
                        : signals.releaseConcurrencyKeys(List.of(id)).otherwiseEmpty();
                return released
                    .compose(v -> events.emit(JobEvents.statusChange(id, job.status(), 0)))
                    .map(job)
                    .otherwise(job);
              }
              // The durable flag is set; the message only makes it fast. Losing it costs a
              // heartbeat.
              return redis
                  .send(Request.cmd(Command.PUBLISH).arg(keys.cancelChannel()).arg(id.toString()))
                  .map(job)
                  .otherwise(job);
            })
        .onSuccess(job -> sendJson(ctx, job.status() == JobStatus.RUNNING ? 202 : 200, job))
        .onFailure(ctx::fail);
  }

  /** Puts a dead-lettered job back to pending with a fresh run of attempts. */
  void requeue(RoutingContext ctx) {
    UUID id = pathId(ctx);
    String user = ApiRoutes.user(ctx);
    SqlTemplate.forQuery(pg, UserJobSql.REQUEUE)
        .execute(Map.of("id", id, "user", user))
        .compose(
            rows -> {
              if (rows.size() == 0) {
                return explainMiss(id, user, "only jobs in the dead-letter queue can be requeued");
              }
              Job job = JobRows.toJob(rows.iterator().next());
              return events
                  .restart(id)
                  .compose(v -> events.emit(JobEvents.statusChange(id, job.status(), 0)))
                  .otherwiseEmpty()
                  .compose(v -> signals.signal(List.of(Signal.of(job))).map(job).otherwise(job));
            })
        .onSuccess(job -> sendJson(ctx, 200, job))
        .onFailure(ctx::fail);
  }

  /** Takes a job out of the dead-letter queue; it stays failed. */
  void discard(RoutingContext ctx) {
    UUID id = pathId(ctx);
    String user = ApiRoutes.user(ctx);
    SqlTemplate.forQuery(pg, UserJobSql.DISCARD)
        .execute(Map.of("id", id, "user", user))
        .compose(
            rows ->
                rows.size() == 0
                    ? explainMiss(id, user, "the job is not in the dead-letter queue")
                    : Future.succeededFuture())
        .onSuccess(v -> ctx.response().setStatusCode(204).end())
        .onFailure(ctx::fail);
  }

  /** Why a conditional write matched nothing: 404 if the job is not the caller's, else 409. */
  private <T> Future<T> explainMiss(UUID id, String user, String rule) {
    return SqlTemplate.forQuery(pg, UserJobSql.SELECT_OWN_STATUS)
        .execute(Map.of("id", id, "user", user))
        .compose(
            rows -> {
              if (rows.size() == 0) {
                return Future.failedFuture(Problem.notFound("no job " + id).exception());
              }
              Row row = rows.iterator().next();
              String state =
                  row.getBoolean("discarded")
                      ? "discarded from the dead-letter queue"
                      : row.getString("status");
              return Future.failedFuture(
                  Problem.conflict("job " + id + " is " + state + "; " + rule).exception());
            });
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

  private static ObjectNode jobsBody(List<Job> jobs) {
    var body = JobJson.MAPPER.createObjectNode();
    var list = body.putArray("jobs");
    jobs.forEach(job -> list.add(JobJson.MAPPER.valueToTree(job)));
    return body;
  }

  /** A field given twice is an error, not "the last one wins": a typo must not pass silently. */
  private static final com.fasterxml.jackson.databind.ObjectReader STRICT_READER =
      JobJson.MAPPER
          .reader()
          .with(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

  /** The request's JSON body; 400 if it is missing or not JSON. */
  static JsonNode jsonBody(RoutingContext ctx) {
    var body = ctx.body().buffer();
    if (body == null || body.length() == 0) {
      throw Problem.badRequest("the request has no body; send a JSON object").exception();
    }
    try {
      return STRICT_READER.readTree(body.getBytes());
    } catch (JacksonException e) {
      throw Problem.badRequest("the body is not valid JSON: " + e.getOriginalMessage()).exception();
    } catch (java.io.IOException e) {
      throw Problem.badRequest("the body could not be read as JSON").exception();
    }
  }

  static UUID pathId(RoutingContext ctx) {
    String text = ctx.pathParam("id");
    return JobIds.parse(text)
        .orElseThrow(
            () ->
                Problem.badRequest(
                        "'"
                            + Problem.printable(text)
                            + "' is not a job id (a UUID like 01890a5d-ac96-774b-bcce-b302099a8057)")
                    .exception());
  }

  private static String query(RoutingContext ctx, String name) {
    List<String> values = ctx.queryParam(name);
    if (values.size() > 1) {
      throw Problem.badRequest("query parameter '" + name + "' is given more than once")
          .exception();
    }
    return values.isEmpty() || values.get(0).isEmpty() ? null : values.get(0);
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
