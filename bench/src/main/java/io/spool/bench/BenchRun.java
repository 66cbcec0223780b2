package io.spool.bench;

import io.spool.client.Job;
import io.spool.client.JobRequest;
import io.spool.client.SpoolClient;
import io.spool.model.JobJson;
import io.vertx.core.Context;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * One benchmark run, all on one event loop: submits jobs (as fast as {@code concurrency} allows, or
 * at a fixed rate), then confirms each completion with GET /v1/jobs/{id}, polled or, with a wait,
 * long-polled by the caller that submitted it. Latencies come from the job's own timestamps
 * (Postgres clock), so polling cadence does not distort them.
 */
final class BenchRun {
  /**
   * A job's first status check waits this long after its submission; later checks as long again.
   */
  private static final long CONFIRM_DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

  private final BenchOptions options;
  private final Vertx vertx;
  private final SpoolClient client;

  /** The one job submitted again and again, encoded once. */
  private final JobRequest request;

  private final Histogram startLatencyMicros = new Histogram(3);
  private final Histogram endLatencyMicros = new Histogram(3);
  private final Histogram seenLatencyMicros = new Histogram(3);
  private final Histogram submitMicros = new Histogram(3);
  private final ArrayDeque<Unconfirmed> unconfirmed = new ArrayDeque<>();
  private final Promise<BenchResult> done = Promise.promise();

  private record Unconfirmed(UUID id, long dueNanos) {}

  private long startNanos;
  private int submitted;
  private int submitsInFlight;
  private int checksInFlight;
  private int rejected;
  private int completed;
  private int failed;
  private int checks;
  private String lastError;

  BenchRun(BenchOptions options) {
    this.options = options;
    this.vertx = Vertx.vertx();
    // Submissions and checks may both be in flight at the concurrency.
    this.client =
        SpoolClient.builder(options.url())
            .apiKey(options.apiKey())
            .vertx(vertx)
            .maxConnections(options.concurrency() * 2 + 4)
            .build();
    var job = JobRequest.builder(options.type()).request(JobJson.tree(options.request()));
    if (options.queue() != null) {
      job.queue(options.queue());
    }
    this.request = job.build();
  }

  BenchResult run() throws Exception {
    Context context = vertx.getOrCreateContext();
    context.runOnContext(
        v -> {
          startNanos = System.nanoTime();
          vertx.setPeriodic(1, id -> pump());
          pump();
        });
    try {
      return done.future().await(options.timeoutSecs(), TimeUnit.SECONDS);
    } finally {
      vertx.close().await();
    }
  }

  private void pump() {
    long now = System.nanoTime();
    while (submitted < options.jobs()
        && submitsInFlight < options.concurrency()
        && due(submitted, now)) {
      submit();
    }
    while (!unconfirmed.isEmpty()
        && unconfirmed.peek().dueNanos() <= now
        && checksInFlight < options.concurrency()) {
      check(unconfirmed.poll().id());
    }
    if (submitted == options.jobs()
        && submitsInFlight == 0
        && checksInFlight == 0
        && unconfirmed.isEmpty()
        && !done.future().isComplete()) {
      done.complete(result(System.nanoTime()));
    }
  }

  /** With a rate, job i is due at start + i / rate; without one, always. */
  private boolean due(int index, long now) {
    return options.rate() <= 0 || now - startNanos >= (long) (index * 1e9 / options.rate());
  }

  private void submit() {
    submitted++;
    submitsInFlight++;
    long sentAt = System.nanoTime();
    client
        .submit(request)
        .onComplete(
            ar -> {
              if (ar.failed()) {
                submitsInFlight--;
                rejected++;
                lastError = ar.cause().toString();
                pump();
                return;
              }
              submitMicros.recordValue(Math.max(1, (System.nanoTime() - sentAt) / 1000));
              UUID id = ar.result().job().id();
              if (options.waitSecs() > 0) {
                // An application that submits and then waits: the caller stays busy until its job
                // has ended.
                awaitEnd(id);
                return;
              }
              submitsInFlight--;
              unconfirmed.add(new Unconfirmed(id, System.nanoTime() + CONFIRM_DELAY_NANOS));
              pump();
            });
  }

  /**
   * Long-polls one job's end with {@code GET /v1/jobs/{id}?wait_secs=N}, as {@code --wait-secs}
   * asks.
   */
  private void awaitEnd(UUID id) {
    checks++;
    client
        .waitFor(id, Duration.ofSeconds(options.waitSecs()))
        .onComplete(
            ar -> {
              submitsInFlight--;
              if (ar.succeeded()) {
                record(ar.result());
              } else {
                lastError = ar.cause().toString();
                unconfirmed.add(new Unconfirmed(id, System.nanoTime() + CONFIRM_DELAY_NANOS));
              }
              pump();
            });
  }

  private void check(UUID id) {
    checksInFlight++;
    checks++;
    client
        .get(id)
        .onComplete(
            ar -> {
              checksInFlight--;
              if (ar.succeeded()) {
                record(ar.result());
              } else {
                lastError = ar.cause().toString();
                unconfirmed.add(new Unconfirmed(id, System.nanoTime() + CONFIRM_DELAY_NANOS));
              }
              pump();
            });
  }

  private void record(Job job) {
    if (!job.status().isFinished()) {
      unconfirmed.add(new Unconfirmed(job.id(), System.nanoTime() + CONFIRM_DELAY_NANOS));
      return;
    }
    if (job.status() == Job.Status.COMPLETED) {
      completed++;
    } else {
      failed++;
      lastError = "job " + job.id() + " " + job.status().wire() + ": " + job.error();
    }
    if (job.startedAt() != null) {
      startLatencyMicros.recordValue(micros(job.submittedAt(), job.startedAt()));
    }
    endLatencyMicros.recordValue(micros(job.submittedAt(), job.finishedAt()));
    seenLatencyMicros.recordValue(micros(job.finishedAt(), Instant.now()));
  }

  private static long micros(Instant from, Instant to) {
    return Math.max(1, Duration.between(from, to).toNanos() / 1000);
  }

  private BenchResult result(long endNanos) {
    double seconds = (endNanos - startNanos) / 1e9;
    return new BenchResult(
        options,
        rejected,
        completed,
        failed,
        checks,
        seconds,
        startLatencyMicros,
        endLatencyMicros,
        seenLatencyMicros,
        submitMicros,
        lastError,
        java.util.Map.of(),
        java.util.Map.of());
  }
}
