package io.spool.gateway;

import static io.spool.gateway.JobAnswers.sendJson;
import static io.spool.gateway.RequestParts.jsonBody;
import static io.spool.gateway.RequestParts.pathId;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.spool.attempt.AttemptFinisher;
import io.spool.attempt.AttemptFinisher.Finished;
import io.spool.attempt.AttemptFinisher.Outcome;
import io.spool.attempt.RetryBackoff;
import io.spool.attempt.ReturnedJobs;
import io.spool.config.SpoolConfig;
import io.spool.model.Job;
import io.spool.model.JobEvent;
import io.spool.model.JobJson;
import io.spool.model.JobStatus;
import io.spool.model.Names;
import io.spool.ops.SpoolMetrics;
import io.spool.signal.JobEvents;
import io.spool.signal.JobEvents.NewEvent;
import io.spool.signal.QueueSignals;
import io.spool.store.AttemptSql;
import io.spool.store.LeaseSql;
import io.spool.store.WorkerSql;
import io.vertx.core.Future;
import io.vertx.ext.web.RoutingContext;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.templates.SqlTemplate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * The worker protocol (docs/worker-protocol.md): remote workers register, heartbeat, claim and
 * leave; their attempts append events, checkpoint, record side effects, complete and fail. Every
 * write about a job is fenced by {@code (job id, attempt)} with the statements Java workers use,
 * and a write the fence refuses is a 409 {@code attempt-lost} that changed nothing.
 */
final class WorkerProtocol {
  private static final Logger log = LoggerFactory.getLogger(WorkerProtocol.class);

  /** Longest claim wait: common proxies cut idle requests at 30 s or later. */
  static final int MAX_WAIT_SECS = 25;

  static final int MAX_CLAIM = 1000;
  static final int MAX_BATCH = 1000;
  static final int MAX_CONCURRENCY = 10_000;
  static final int MAX_TYPES = 64;
  static final int MAX_ERROR_CHARS = 8192;
  static final int MAX_EFFECT_NAME = 200;
  private static final Pattern WORKER_ID = Pattern.compile("[A-Za-z0-9._-]{1,100}");
  private static final Pattern WORKER_NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");
  private static final Set<String> HANDLER_EVENT_TYPES = Set.of(JobEvent.PROGRESS, JobEvent.OUTPUT);

  private final SqlClient pg;
  private final RemoteClaims claims;
  private final AttemptFinisher finisher;
  private final RetryBackoff backoff;
  private final JobEvents events;
  private final QueueSignals signals;
  private final JobTypes types;
  private final SpoolMetrics metrics;
  private final long visibilitySecs;
  private final long heartbeatSecs;

  WorkerProtocol(
      SqlClient pg,
      RemoteClaims claims,
      AttemptFinisher finisher,
      JobEvents events,
      QueueSignals signals,
      JobTypes types,
      SpoolMetrics metrics,
      SpoolConfig config) {
    this.pg = pg;
    this.claims = claims;
    this.finisher = finisher;
    this.events = events;
    this.signals = signals;
    this.types = types;
    this.metrics = metrics;
    this.backoff = new RetryBackoff(config.jobs().retryBase(), config.jobs().retryMax());
    this.visibilitySecs = config.worker().visibilityTimeout().toSeconds();
    this.heartbeatSecs = config.worker().heartbeatInterval().toSeconds();
  }

  // ---- workers -------------------------------------------------------------------------------

  /** POST /v1/workers: registers a remote worker; 201 with its id and timings. */
  void register(RoutingContext ctx) {
    ObjectNode body = object(jsonBody(ctx));
    List<String> served = names(body, "types", null, Names.JOB_TYPE, MAX_TYPES);
    List<String> queues = names(body, "queues", List.of(Names.DEFAULT_QUEUE), Names.QUEUE, 64);
    int concurrency = integer(body, "concurrency", 1, 1, MAX_CONCURRENCY);
    String name = text(body, "name", defaultName(ApiRoutes.user(ctx)));
    if (!WORKER_NAME.matcher(name).matches()) {
      throw invalid("name", "must be 1-64 letters, digits, '.', '_' or '-'");
    }
    String id = name + "-" + Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36);
    SqlTemplate.forUpdate(pg, WorkerSql.REGISTER_REMOTE)
        .execute(
            Map.of(
                "worker",
                id,
                "name",
                name,
                "queues",
                queues.toArray(String[]::new),
                "types",
                served.toArray(String[]::new),
                "concurrency",
                concurrency))
        // This gateway accepts the new types at once; the others within seconds, or on a miss.
        .compose(v -> types.refresh())
        .onSuccess(
            v -> {
              log.info(
                  "remote worker {} registered: queues {}, types {}, concurrency {}",
                  id,
                  queues,
                  served,
                  concurrency);
              sendJson(
                  ctx,
                  201,
                  JobJson.MAPPER
                      .createObjectNode()
                      .put("worker_id", id)
                      .put("heartbeat_secs", heartbeatSecs)
                      .put("visibility_timeout_secs", visibilitySecs)
                      .put("max_wait_secs", MAX_WAIT_SECS));
            })
        .onFailure(ctx::fail);
  }

  /**
   * POST /v1/workers/{wid}/heartbeat: proves the worker alive; answers what to cancel, what it lost
   * and whether to drain. Jobs it holds but no longer reports, claimed more than a visibility
   * timeout ago (a claim whose answer never reached it), are handed back.
   */
  void heartbeat(RoutingContext ctx) {
    String worker = workerId(ctx);
    ObjectNode body = object(jsonBody(ctx));
    Map<UUID, Integer> reported = new LinkedHashMap<>();
    JsonNode running = body.path("running");
    if (!running.isMissingNode() && !running.isArray()) {
      throw invalid("running", "must be an array of {\"job_id\", \"attempt\"}");
    }
    for (int i = 0; i < running.size(); i++) {
      ObjectNode entry = object(running.get(i), "running[" + i + "]");
      reported.put(
          uuid(entry, "job_id", "running[" + i + "].job_id"),
          integer(entry, "attempt", null, 1, Integer.MAX_VALUE));
    }
    SqlTemplate.forQuery(pg, WorkerSql.REMOTE_HEARTBEAT)
        .execute(Map.of("worker", worker, "secs", visibilitySecs))
        .compose(
            rows -> {
              if (rows.size() == 0) {
                throw gone(worker);
              }
              boolean draining = false;
              Map<UUID, Integer> held = new HashMap<>();
              Set<UUID> cancelAsked = new HashSet<>();
              var unreported = new ArrayList<UUID>();
              for (Row row : rows) {
                draining = row.getBoolean("draining");
                UUID id = row.getUUID("id");
                if (id == null) {
                  continue;
                }
                held.put(id, row.getInteger("attempts"));
                if (row.getBoolean("cancel_requested")) {
                  cancelAsked.add(id);
                }
                if (!reported.containsKey(id) && row.getBoolean("started_long_ago")) {
                  unreported.add(id);
                }
              }
              var answer = JobJson.MAPPER.createObjectNode();
              var cancel = answer.putArray("cancel");
              var lost = answer.putArray("lost");
              reported.forEach(
                  (id, attempt) -> {
                    if (!attempt.equals(held.get(id))) {
                      lost.add(id.toString());
                    } else if (cancelAsked.contains(id)) {
                      cancel.add(id.toString());
                    }
                  });
              answer.put("state", draining ? "drain" : "run");
              return handBack(worker, unreported, "was not reported by its remote worker")
                  .map(v -> answer);
            })
        .onSuccess(answer -> sendJson(ctx, 200, answer))
        .onFailure(ctx::fail);
  }

  /** POST /v1/workers/{wid}/claim: long-polls for up to {@code max} jobs. */
  void claim(RoutingContext ctx) {
    String worker = workerId(ctx);
    ObjectNode body = object(jsonBody(ctx));
    int max = integer(body, "max", 1, 1, MAX_CLAIM);
    int waitSecs = integer(body, "wait_secs", MAX_WAIT_SECS, 0, MAX_WAIT_SECS);
    SqlTemplate.forQuery(pg, WorkerSql.SELECT_REMOTE)
        .execute(Map.of("worker", worker))
        .compose(
            rows -> {
              if (rows.size() == 0) {
                throw gone(worker);
              }
              Row row = rows.iterator().next();
              if (row.getBoolean("draining")) {
                return Future.succeededFuture(List.<Job>of());
              }
              return claims
                  .claim(
                      worker,
                      List.of(row.getArrayOfStrings("queues")),
                      List.of(row.getArrayOfStrings("types")),
                      max,
                      Duration.ofSeconds(waitSecs),
                      () -> ctx.response().closed())
                  .recover(
                      e ->
                          Future.failedFuture(
                              e instanceof RemoteClaims.WorkerGone ? gone(worker) : e));
            })
        .compose(
            jobs -> {
              if (jobs.isEmpty()) {
                return Future.succeededFuture(JobJson.MAPPER.createObjectNode().putArray("jobs"));
              }
              if (ctx.response().closed()) {
                // The worker stopped waiting while they were claimed: they go back at once.
                return handBack(
                        worker,
                        jobs.stream().map(Job::id).toList(),
                        "was claimed for a gone caller")
                    .map(v -> JobJson.MAPPER.createArrayNode());
              }
              return started(jobs);
            })
        .onSuccess(
            list -> {
              var answer = JobJson.MAPPER.createObjectNode();
              answer.set("jobs", list);
              if (!ctx.response().closed()) {
                sendJson(ctx, 200, answer);
              }
            })
        .onFailure(ctx::fail);
  }

  /**
   * The claimed jobs as the worker gets them, with their recorded side effects; announces them
   * running, as a Java worker does.
   */
  private Future<com.fasterxml.jackson.databind.node.ArrayNode> started(List<Job> jobs) {
    var running = new ArrayList<NewEvent>(jobs.size());
    var retried = new ArrayList<UUID>();
    for (Job job : jobs) {
      running.addAll(JobEvents.statusChange(job.id(), JobStatus.RUNNING, job.attempts()));
      if (job.attempts() > 1) {
        retried.add(job.id()); // only a later attempt can find side effects recorded
      }
      if (job.startedAt() != null) {
        Instant due = job.runAt().isAfter(job.submittedAt()) ? job.runAt() : job.submittedAt();
        metrics.started(job.queue(), job.type(), Duration.between(due, job.startedAt()));
      }
    }
    events.emit(running).onFailure(e -> log.debug("status events dropped: {}", e.toString()));
    Future<RowSet<Row>> effects =
        retried.isEmpty()
            ? Future.succeededFuture(null)
            : SqlTemplate.forQuery(pg, AttemptSql.SIDE_EFFECTS_OF)
                .execute(Map.of("ids", retried.toArray(UUID[]::new)));
    return effects.map(
        rows -> {
          Map<UUID, ObjectNode> byJob = new HashMap<>();
          if (rows != null) {
            for (Row row : rows) {
              byJob
                  .computeIfAbsent(row.getUUID("job_id"), id -> JobJson.MAPPER.createObjectNode())
                  .set(row.getString("name"), tree(row.getString("result")));
            }
          }
          var list = JobJson.MAPPER.createArrayNode();
          for (Job job : jobs) {
            ObjectNode entry =
                list.addObject()
                    .put("id", job.id().toString())
                    .put("type", job.type())
                    .put("queue", job.queue())
                    .put("user_id", job.userId())
                    .put("attempt", job.attempts())
                    .put("max_attempts", job.maxAttempts());
            entry.set("request", job.request());
            entry.set(
                "checkpoint", job.checkpoint() == null ? NullNode.instance : job.checkpoint());
            entry.set("effects", byJob.getOrDefault(job.id(), JobJson.MAPPER.createObjectNode()));
            entry.put(
                "deadline_at",
                (job.startedAt() == null ? Instant.now() : job.startedAt())
                    .plusSeconds(job.timeoutSecs())
                    .toString());
          }
          return list;
        });
  }

  /**
   * DELETE /v1/workers/{wid}: forgets the worker, then hands back what it held; 204. In that order:
   * a claim needs the worker's row, so once the row is gone the worker cannot claim again the jobs
   * it is handing back, as it could (under the registration it is leaving) once they were
   * signalled.
   */
  void leave(RoutingContext ctx) {
    String worker = workerId(ctx);
    SqlTemplate.forQuery(pg, WorkerSql.DELETE_WORKER)
        .execute(Map.of("worker", worker))
        .compose(
            v -> SqlTemplate.forQuery(pg, LeaseSql.HAND_BACK).execute(Map.of("worker", worker)))
        .compose(
            rows -> {
              if (rows.size() > 0) {
                log.info("remote worker {} handed {} running jobs back", worker, rows.size());
              }
              return ReturnedJobs.announce(rows, "was handed back", Level.INFO, events, signals);
            })
        .onSuccess(v -> ctx.response().setStatusCode(204).end())
        .onFailure(ctx::fail);
  }

  /** POST /v1/workers/{wid}/drain: asks a remote worker to finish what it holds and leave; 202. */
  void drain(RoutingContext ctx) {
    String worker = workerId(ctx);
    SqlTemplate.forQuery(pg, WorkerSql.DRAIN)
        .execute(Map.of("worker", worker))
        .onSuccess(
            rows -> {
              if (rows.size() == 0) {
                Problem.of(
                        404,
                        "worker-not-found",
                        "Worker not found",
                        "no remote worker '" + Problem.printable(worker) + "' is registered")
                    .send(ctx);
              } else {
                sendJson(ctx, 202, JobJson.MAPPER.createObjectNode().put("state", "drain"));
              }
            })
        .onFailure(ctx::fail);
  }

  // ---- attempts ------------------------------------------------------------------------------

  /** POST /v1/jobs/{id}/attempts/{n}/events: appends progress and output events, in order. */
  void events(RoutingContext ctx) {
    UUID id = pathId(ctx);
    int attempt = attempt(ctx);
    ObjectNode body = object(jsonBody(ctx));
    JsonNode list = body.path("events");
    if (!list.isArray() || list.isEmpty() || list.size() > MAX_BATCH) {
      throw invalid("events", "must be an array of 1-" + MAX_BATCH + " {\"type\", \"data\"}");
    }
    var appended = new ArrayList<NewEvent>(list.size());
    for (int i = 0; i < list.size(); i++) {
      ObjectNode event = object(list.get(i), "events[" + i + "]");
      String type = event.path("type").asText("");
      if (!HANDLER_EVENT_TYPES.contains(type)) {
        throw invalid("events[" + i + "].type", "must be progress or output");
      }
      appended.add(new NewEvent(id, type, attempt, event.get("data")));
    }
    fenced(id, attempt)
        .compose(cancel -> events.emit(appended).map(v -> cancel))
        .onSuccess(
            cancel ->
                sendJson(
                    ctx,
                    200,
                    JobJson.MAPPER
                        .createObjectNode()
                        .put("appended", appended.size())
                        .put("cancel_requested", cancel)))
        .onFailure(ctx::fail);
  }

  /** PUT /v1/jobs/{id}/attempts/{n}/checkpoint: saves the checkpoint, fenced. */
  void checkpoint(RoutingContext ctx) {
    UUID id = pathId(ctx);
    int attempt = attempt(ctx);
    ObjectNode body = object(jsonBody(ctx));
    if (!body.has("state")) {
      throw invalid("state", "is required: the checkpoint, any JSON");
    }
    JsonNode state = body.get("state");
    String json = storable(state, "state");
    SqlTemplate.forQuery(pg, AttemptSql.SAVE_CHECKPOINT)
        .execute(Map.of("id", id, "attempt", attempt, "checkpoint", json))
        .map(
            rows -> {
              if (rows.size() == 0) {
                throw lost(id, attempt);
              }
              events
                  .emit(new NewEvent(id, JobEvent.CHECKPOINT, attempt, state))
                  .onFailure(e -> log.debug("checkpoint event dropped: {}", e.toString()));
              return rows.iterator().next().getBoolean("cancel_requested");
            })
        .onSuccess(cancel -> sendJson(ctx, 200, cancelAnswer(cancel)))
        .onFailure(ctx::fail);
  }

  /** GET /v1/jobs/{id}/attempts/{n}/effects/{name}: a recorded side effect, or 404. */
  void effect(RoutingContext ctx) {
    UUID id = pathId(ctx);
    int attempt = attempt(ctx);
    String name = effectName(ctx);
    SqlTemplate.forQuery(pg, AttemptSql.SIDE_EFFECT_FOR_ATTEMPT)
        .execute(Map.of("id", id, "attempt", attempt, "name", name))
        .onSuccess(
            rows -> {
              if (rows.size() == 0) {
                lost(id, attempt).problem().send(ctx);
                return;
              }
              Row row = rows.iterator().next();
              if (!row.getBoolean("found")) {
                Problem.of(
                        404,
                        "effect-not-found",
                        "Side effect not recorded",
                        "no side effect '" + Problem.printable(name) + "' is recorded for this job")
                    .send(ctx);
                return;
              }
              sendJson(
                  ctx,
                  200,
                  effectAnswer(
                      name,
                      tree(row.getString("result")),
                      row.getInteger("recorded_by"),
                      null,
                      row.getBoolean("cancel_requested")));
            })
        .onFailure(ctx::fail);
  }

  /**
   * PUT /v1/jobs/{id}/attempts/{n}/effects/{name}: records a side effect once; 201 the first time,
   * else 200 with the first record's result.
   */
  void recordEffect(RoutingContext ctx) {
    UUID id = pathId(ctx);
    int attempt = attempt(ctx);
    String name = effectName(ctx);
    ObjectNode body = object(jsonBody(ctx));
    JsonNode result = body.has("result") ? body.get("result") : NullNode.instance;
    String json = storable(result, "result");
    var params = new HashMap<String, Object>();
    params.put("id", id);
    params.put("attempt", attempt);
    params.put("name", name);
    params.put("result", json);
    recordOnce(params, 3)
        .onSuccess(
            row -> {
              if (row == null) {
                lost(id, attempt).problem().send(ctx);
              } else if (row.getBoolean("inserted")) {
                sendJson(
                    ctx,
                    201,
                    effectAnswer(name, result, attempt, true, row.getBoolean("cancel_requested")));
              } else {
                sendJson(
                    ctx,
                    200,
                    effectAnswer(
                        name,
                        tree(row.getString("first_result")),
                        row.getInteger("first_attempt"),
                        false,
                        row.getBoolean("cancel_requested")));
              }
            })
        .onFailure(ctx::fail);
  }

  /**
   * The record's row, or null if the attempt is lost. A record made by another call at the same
   * moment is not visible to this statement yet: it asks again.
   */
  private Future<Row> recordOnce(Map<String, Object> params, int tries) {
    return SqlTemplate.forQuery(pg, AttemptSql.RECORD_SIDE_EFFECT_ONCE)
        .execute(params)
        .compose(
            rows -> {
              if (rows.size() == 0) {
                return Future.succeededFuture(null);
              }
              Row row = rows.iterator().next();
              if (!row.getBoolean("inserted")
                  && row.getValue("first_attempt") == null
                  && tries > 1) {
                return recordOnce(params, tries - 1);
              }
              return Future.succeededFuture(row);
            });
  }

  /** POST /v1/jobs/{id}/attempts/{n}/complete: completes the job; a repeat answers 200 again. */
  void complete(RoutingContext ctx) {
    UUID id = pathId(ctx);
    int attempt = attempt(ctx);
    ObjectNode body = object(jsonBody(ctx));
    Outcome outcome = completion(body, "result");
    completeAll(List.of(new Completion(id, attempt, outcome)))
        .onSuccess(
            answers -> {
              ObjectNode answer = answers.getFirst();
              if ("attempt-lost".equals(answer.path("status").asText())) {
                lost(id, attempt).problem().send(ctx);
              } else {
                answer.remove("id");
                answer.remove("attempt");
                sendJson(ctx, 200, answer);
              }
            })
        .onFailure(ctx::fail);
  }

  /** POST /v1/workers/{wid}/complete: completes many attempts in one statement. */
  void completeMany(RoutingContext ctx) {
    workerId(ctx);
    ObjectNode body = object(jsonBody(ctx));
    JsonNode list = body.path("jobs");
    if (!list.isArray() || list.isEmpty() || list.size() > MAX_BATCH) {
      throw invalid(
          "jobs", "must be an array of 1-" + MAX_BATCH + " {\"id\", \"attempt\", \"result\"}");
    }
    var completions = new ArrayList<Completion>(list.size());
    for (int i = 0; i < list.size(); i++) {
      String at = "jobs[" + i + "]";
      ObjectNode entry = object(list.get(i), at);
      completions.add(
          new Completion(
              uuid(entry, "id", at + ".id"),
              integer(entry, "attempt", null, 1, Integer.MAX_VALUE),
              completion(entry, at + ".result")));
    }
    completeAll(completions)
        .onSuccess(
            answers -> {
              var answer = JobJson.MAPPER.createObjectNode();
              answers.forEach(answer.putArray("jobs")::add);
              sendJson(ctx, 200, answer);
            })
        .onFailure(ctx::fail);
  }

  private record Completion(UUID id, int attempt, Outcome outcome) {}

  /**
   * Writes the completions (one statement for all, with whatever else is finishing now) and answers
   * each: completed, a replay of one already written, or attempt-lost.
   */
  private Future<List<ObjectNode>> completeAll(List<Completion> completions) {
    var writes = new ArrayList<Future<Finished>>(completions.size());
    for (Completion c : completions) {
      writes.add(finisher.finishing(c.id(), c.attempt(), c.outcome(), null));
    }
    return Future.all(writes)
        .compose(
            all -> {
              var missed = new ArrayList<UUID>();
              for (int i = 0; i < completions.size(); i++) {
                if (all.resultAt(i) == null) {
                  missed.add(completions.get(i).id());
                }
              }
              return states(missed)
                  .map(
                      states -> {
                        var answers = new ArrayList<ObjectNode>(completions.size());
                        for (int i = 0; i < completions.size(); i++) {
                          Completion c = completions.get(i);
                          Finished finished = all.resultAt(i);
                          Row state = states.get(c.id());
                          boolean replay =
                              finished == null
                                  && state != null
                                  && state.getInteger("attempts") == c.attempt()
                                  && "completed".equals(state.getString("status"));
                          answers.add(
                              JobJson.MAPPER
                                  .createObjectNode()
                                  .put("id", c.id().toString())
                                  .put("attempt", c.attempt())
                                  .put(
                                      "status",
                                      finished != null || replay ? "completed" : "attempt-lost")
                                  .put("replay", replay)
                                  .put(
                                      "cancel_requested",
                                      finished != null && finished.cancelRequested()));
                        }
                        return answers;
                      });
            });
  }

  /**
   * POST /v1/jobs/{id}/attempts/{n}/fail: fails the attempt, to be retried after the backoff if it
   * may be and has attempts left; {@code retry: false} dead-letters the job at once.
   */
  void fail(RoutingContext ctx) {
    UUID id = pathId(ctx);
    int attempt = attempt(ctx);
    ObjectNode body = object(jsonBody(ctx));
    JsonNode errorNode = body.path("error");
    if (!errorNode.isTextual() || errorNode.asText().isBlank()) {
      throw invalid("error", "is required: a text saying what went wrong");
    }
    String error = errorNode.asText();
    if (error.length() > MAX_ERROR_CHARS) {
      error = error.substring(0, MAX_ERROR_CHARS);
    }
    JsonNode retryNode = body.path("retry");
    if (!retryNode.isMissingNode() && !retryNode.isBoolean()) {
      throw invalid("retry", "must be true or false");
    }
    boolean retry = retryNode.isMissingNode() || retryNode.asBoolean();
    Outcome outcome =
        retry
            ? Outcome.failed(error, backoff.millisAfterAttempt(attempt))
            : Outcome.failedForGood(error);
    String stored = outcome.error();
    finisher
        .finishing(id, attempt, outcome, null)
        .compose(
            finished -> {
              if (finished != null) {
                return Future.succeededFuture(
                    failAnswer(finished.status(), false, finished.cancelRequested()));
              }
              return states(List.of(id))
                  .map(
                      states -> {
                        Row state = states.get(id);
                        // A repeat of this fail: its attempt ended it, and not by the reaper.
                        if (state != null
                            && state.getInteger("attempts") == attempt
                            && !"running".equals(state.getString("status"))
                            && !"completed".equals(state.getString("status"))
                            && stored.equals(state.getString("error"))) {
                          return failAnswer(
                              JobStatus.parse(state.getString("status")), true, false);
                        }
                        throw lost(id, attempt);
                      });
            })
        .onSuccess(answer -> sendJson(ctx, 200, answer))
        .onFailure(ctx::fail);
  }

  private static ObjectNode failAnswer(JobStatus status, boolean replay, boolean cancel) {
    return JobJson.MAPPER
        .createObjectNode()
        .put("status", status.wire())
        .put("replay", replay)
        .put("cancel_requested", cancel);
  }

  // ---- shared parts --------------------------------------------------------------------------

  /** Whether attempt {@code attempt} holds job {@code id}: its cancel flag, or a 409. */
  private Future<Boolean> fenced(UUID id, int attempt) {
    return SqlTemplate.forQuery(pg, AttemptSql.CURRENT_ATTEMPT)
        .execute(Map.of("id", id, "attempt", attempt))
        .map(
            rows -> {
              if (rows.size() == 0) {
                throw lost(id, attempt);
              }
              return rows.iterator().next().getBoolean("cancel_requested");
            });
  }

  /** The state rows of jobs {@code ids}, by id (none for an unknown id). */
  private Future<Map<UUID, Row>> states(List<UUID> ids) {
    if (ids.isEmpty()) {
      return Future.succeededFuture(Map.of());
    }
    return SqlTemplate.forQuery(pg, AttemptSql.ATTEMPT_STATE)
        .execute(Map.of("ids", ids.toArray(UUID[]::new)))
        .map(
            rows -> {
              var byId = new HashMap<UUID, Row>();
              rows.forEach(row -> byId.put(row.getUUID("id"), row));
              return byId;
            });
  }

  /** Hands back these jobs of the worker, if it still holds them, and announces them. */
  private Future<Void> handBack(String worker, List<UUID> ids, String why) {
    if (ids.isEmpty()) {
      return Future.succeededFuture();
    }
    return SqlTemplate.forQuery(pg, LeaseSql.HAND_BACK_JOBS)
        .execute(Map.of("worker", worker, "ids", ids.toArray(UUID[]::new)))
        .compose(rows -> ReturnedJobs.announce(rows, why, Level.INFO, events, signals));
  }

  private static ObjectNode cancelAnswer(boolean cancel) {
    return JobJson.MAPPER.createObjectNode().put("cancel_requested", cancel);
  }

  private static ObjectNode effectAnswer(
      String name, JsonNode result, Integer recordedBy, Boolean recorded, boolean cancel) {
    ObjectNode answer = JobJson.MAPPER.createObjectNode().put("name", name);
    answer.set("result", result == null ? NullNode.instance : result);
    answer.put("attempt", recordedBy);
    if (recorded != null) {
      answer.put("recorded", recorded);
    }
    return answer.put("cancel_requested", cancel);
  }

  private static Outcome completion(ObjectNode body, String field) {
    JsonNode result = body.has("result") ? body.get("result") : NullNode.instance;
    storable(result, field);
    return Outcome.completed(result);
  }

  /** The JSON text of {@code value}; 422 if Postgres could not store it (U+0000). */
  private static String storable(JsonNode value, String field) {
    String json = JobJson.encode(value);
    if (JobJson.hasNul(json, value)) {
      throw invalid(field, "contains the character U+0000, which cannot be stored");
    }
    return json;
  }

  private static JsonNode tree(String json) {
    return json == null ? NullNode.instance : JobJson.tree(json);
  }

  private static String defaultName(String keyName) {
    String name = keyName.replaceAll("[^A-Za-z0-9._-]", "-");
    return name.length() > 64 ? name.substring(0, 64) : name;
  }

  private static String workerId(RoutingContext ctx) {
    String id = ctx.pathParam("wid");
    if (id == null || !WORKER_ID.matcher(id).matches()) {
      throw Problem.badRequest(
              "'"
                  + Problem.printable(String.valueOf(id))
                  + "' is not a worker id (from POST /v1/workers)")
          .exception();
    }
    return id;
  }

  private static int attempt(RoutingContext ctx) {
    String text = ctx.pathParam("n");
    try {
      int n = Integer.parseInt(text);
      if (n >= 1) {
        return n;
      }
    } catch (NumberFormatException e) {
      // answered below
    }
    throw Problem.badRequest(
            "'" + Problem.printable(text) + "' is not an attempt number (1, 2, ... from the claim)")
        .exception();
  }

  private static String effectName(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    if (name == null || name.isEmpty() || name.length() > MAX_EFFECT_NAME) {
      throw Problem.badRequest("a side effect's name must be 1-" + MAX_EFFECT_NAME + " characters")
          .exception();
    }
    return name;
  }

  private static ProblemException lost(UUID id, int attempt) {
    return Problem.of(
            409,
            "attempt-lost",
            "Attempt lost",
            "attempt "
                + attempt
                + " no longer holds job "
                + id
                + " (reaped, handed back, cancelled or finished); nothing was changed: stop the handler")
        .exception();
  }

  private static ProblemException gone(String worker) {
    return Problem.of(
            410,
            "worker-gone",
            "Worker gone",
            "worker '"
                + Problem.printable(worker)
                + "' was declared dead or has left; its jobs went to others: register again")
        .exception();
  }

  private static ProblemException invalid(String field, String message) {
    return new Problem(
            422,
            "validation",
            "Invalid request",
            field + ": " + message,
            List.of(new Problem.FieldError(field, message)))
        .exception();
  }

  private static ObjectNode object(JsonNode node) {
    return object(node, "the body");
  }

  private static ObjectNode object(JsonNode node, String what) {
    if (node == null || !node.isObject()) {
      throw invalid(what, "must be a JSON object");
    }
    return (ObjectNode) node;
  }

  private static UUID uuid(ObjectNode body, String key, String field) {
    String text = body.path(key).asText("");
    return io.spool.model.JobIds.parse(text)
        .orElseThrow(() -> invalid(field, "must be a job id (a UUID)"));
  }

  private static int integer(ObjectNode body, String field, Integer fallback, int min, int max) {
    JsonNode node = body.get(field);
    if (node == null || node.isNull()) {
      if (fallback == null) {
        throw invalid(field, "is required");
      }
      return fallback;
    }
    if (!node.canConvertToInt()
        || !node.isIntegralNumber()
        || node.asInt() < min
        || node.asInt() > max) {
      throw invalid(field, "must be an integer from " + min + " to " + max);
    }
    return node.asInt();
  }

  private static String text(ObjectNode body, String field, String fallback) {
    JsonNode node = body.get(field);
    if (node == null || node.isNull()) {
      return fallback;
    }
    if (!node.isTextual()) {
      throw invalid(field, "must be a string");
    }
    return node.asText();
  }

  private static List<String> names(
      ObjectNode body, String field, List<String> fallback, Pattern valid, int max) {
    JsonNode node = body.get(field);
    if (node == null || node.isNull()) {
      if (fallback == null) {
        throw invalid(field, "is required: an array of names");
      }
      return fallback;
    }
    if (!node.isArray() || node.isEmpty() || node.size() > max) {
      throw invalid(field, "must be an array of 1-" + max + " names");
    }
    var names = new ArrayList<String>();
    for (JsonNode item : node) {
      if (!item.isTextual() || !valid.matcher(item.asText()).matches()) {
        throw invalid(field, "each must be " + Names.NAME_RULE);
      }
      if (!names.contains(item.asText())) {
        names.add(item.asText());
      }
    }
    return names;
  }
}
