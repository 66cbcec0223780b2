package io.spool.gateway;

import static io.spool.gateway.JobAnswers.jobsBody;
import static io.spool.gateway.JobAnswers.sendJson;
import static io.spool.gateway.RequestParts.jsonBody;
import static io.spool.gateway.RequestParts.singleHeader;

import io.spool.gateway.JobSubmitter.Submitted;
import io.spool.gateway.Problem.FieldError;
import io.spool.model.NewJob;
import io.vertx.core.Future;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * POST /v1/jobs and POST /v1/jobs/batch: parses and checks submissions (fields, known types, the
 * queue's room, where callbacks may go), then commits them through the shared {@link JobSubmitter}.
 */
final class SubmissionHandler {
  static final String IDEMPOTENCY_HEADER = "Idempotency-Key";

  private final SubmissionParser parser;
  private final JobTypes types;
  private final PendingJobs pending;
  private final JobSubmitter submitter;

  SubmissionHandler(
      SubmissionParser parser, JobTypes types, PendingJobs pending, JobSubmitter submitter) {
    this.parser = parser;
    this.types = types;
    this.pending = pending;
    this.submitter = submitter;
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
}
