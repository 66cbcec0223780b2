package io.spool.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.model.JobJson;
import io.vertx.core.Context;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.PoolOptions;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * One benchmark run, all on one event loop: submits jobs (as fast as {@code concurrency} allows, or at
 * a fixed rate), then confirms each completion with GET /v1/jobs/{id}. Latencies come from the job's
 * own timestamps (Postgres clock), so polling cadence does not distort them.
 */
final class BenchRun {
  /** A job's first status check waits this long after its submission; later checks as long again. */
  private static final long CONFIRM_DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

  private final BenchOptions options;
  private final Vertx vertx;
  private final WebClient client;
  private final GatewayTarget target;
  private final String submitBody;

  private final Histogram startLatencyMicros = new Histogram(3);
  private final Histogram endLatencyMicros = new Histogram(3);
  private final Histogram submitMicros = new Histogram(3);
  private final ArrayDeque<Unconfirmed> unconfirmed = new ArrayDeque<>();
  private final Promise<BenchResult> done = Promise.promise();

  private record Unconfirmed(String id, long dueNanos) {}

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
    this.target = GatewayTarget.of(options.url(), options.apiKey());
    this.client = WebClient.create(vertx, new WebClientOptions().setKeepAlive(true).setTcpNoDelay(true),
        new PoolOptions().setHttp1MaxSize(options.concurrency() * 2 + 4));
    var body = JobJson.MAPPER.createObjectNode().put("type", options.type());
    body.set("request", JobJson.tree(options.request()));
    if (options.queue() != null) {
      body.put("queue", options.queue());
    }
    this.submitBody = JobJson.encode(body);
  }

  BenchResult run() throws Exception {
    Context context = vertx.getOrCreateContext();
    context.runOnContext(v -> {
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
    while (submitted < options.jobs() && submitsInFlight < options.concurrency() && due(submitted, now)) {
      submit();
    }
    while (!unconfirmed.isEmpty() && unconfirmed.peek().dueNanos() <= now && checksInFlight < options.concurrency()) {
      check(unconfirmed.poll().id());
    }
    if (submitted == options.jobs() && submitsInFlight == 0 && checksInFlight == 0 && unconfirmed.isEmpty()
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
    var request = client.post(target.port(), target.host(), "/v1/jobs").putHeader("Content-Type", "application/json");
    target.authorize(request::putHeader);
    request.sendBuffer(Buffer.buffer(submitBody)).onComplete(ar -> {
      submitsInFlight--;
      if (ar.succeeded() && ar.result().statusCode() == 202) {
        submitMicros.recordValue(Math.max(1, (System.nanoTime() - sentAt) / 1000));
        unconfirmed.add(new Unconfirmed(ar.result().bodyAsJsonObject().getString("id"), System.nanoTime() + CONFIRM_DELAY_NANOS));
      } else {
        rejected++;
        lastError = ar.succeeded() ? "HTTP " + ar.result().statusCode() + " " + ar.result().bodyAsString() : ar.cause().toString();
      }
      pump();
    });
  }

  private void check(String id) {
    checksInFlight++;
    checks++;
    var request = client.get(target.port(), target.host(), "/v1/jobs/" + id);
    target.authorize(request::putHeader);
    request.send().onComplete(ar -> {
      checksInFlight--;
      if (ar.succeeded() && ar.result().statusCode() == 200) {
        record(id, ar.result());
      } else {
        lastError = ar.succeeded() ? "HTTP " + ar.result().statusCode() + " on GET" : ar.cause().toString();
        unconfirmed.add(new Unconfirmed(id, System.nanoTime() + CONFIRM_DELAY_NANOS));
      }
      pump();
    });
  }

  private void record(String id, HttpResponse<Buffer> response) {
    JsonNode job = JobJson.tree(response.bodyAsString());
    String status = job.get("status").asText();
    switch (status) {
      case "completed", "failed", "cancelled" -> {
        if (status.equals("completed")) {
          completed++;
        } else {
          failed++;
          lastError = "job " + id + " " + status + ": " + job.get("error").asText();
        }
        Instant submittedAt = Instant.parse(job.get("submitted_at").asText());
        if (!job.get("started_at").isNull()) {
          startLatencyMicros.recordValue(micros(submittedAt, Instant.parse(job.get("started_at").asText())));
        }
        endLatencyMicros.recordValue(micros(submittedAt, Instant.parse(job.get("finished_at").asText())));
      }
      default -> unconfirmed.add(new Unconfirmed(id, System.nanoTime() + CONFIRM_DELAY_NANOS));
    }
  }

  private static long micros(Instant from, Instant to) {
    return Math.max(1, Duration.between(from, to).toNanos() / 1000);
  }

  private BenchResult result(long endNanos) {
    double seconds = (endNanos - startNanos) / 1e9;
    return new BenchResult(options, rejected, completed, failed, checks, seconds,
        startLatencyMicros, endLatencyMicros, submitMicros, lastError);
  }
}
