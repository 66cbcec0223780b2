package io.spool.worker.builtin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.spool.config.SpoolConfig.HttpJobs;
import io.spool.handler.JobContext;
import io.spool.handler.JobHandler;
import io.spool.model.JobJson;
import io.spool.net.DestinationRules;
import io.spool.net.HttpCall;
import io.spool.worker.PinnedRequests;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code http}: {@code {"method", "url", "headers"?, "body"?, "after_ms"?}} makes the request once
 * per job, whatever happens to its attempts, with {@code Idempotency-Key: <job id>:http} so the
 * server can recognise a repeat from the moment between doing and recording; then waits {@code
 * after_ms} (modelling later work). The result is {@code {"status", "body"}}: the body as JSON when
 * the answer says it is JSON, else as text, cut at {@code SPOOL_HTTP_MAX_RESPONSE_BYTES} with
 * {@code "truncated": true}. An answer asking to try again later (408, 425, 429, 5xx), a network
 * error or a timeout fails the attempt, so it is retried with backoff and sent again under the same
 * key; any other answer, redirects included (never followed), is the result. Destinations obey the
 * SSRF rules, with {@code SPOOL_HTTP_ALLOWED_HOSTS} as exceptions.
 */
public final class HttpHandler implements JobHandler {
  private final Vertx vertx;
  private final HttpClient client;
  private final HttpJobs settings;
  private final DestinationRules rules;

  /**
   * @param client an HTTP client that follows no redirects
   */
  public HttpHandler(Vertx vertx, HttpClient client, HttpJobs settings) {
    this.vertx = vertx;
    this.client = client;
    this.settings = settings;
    this.rules = settings.destinations();
  }

  @Override
  public String type() {
    return HttpCall.TYPE;
  }

  @Override
  public JsonNode run(JobContext context) throws Exception {
    var problems = new RequestProblems();
    HttpCall call = HttpCall.parse(context.request(), rules, problems);
    problems.throwIfAny();
    JsonNode answer = context.once("http", key -> send(call, key));
    Thread.sleep(call.afterMs());
    return answer;
  }

  private JsonNode send(HttpCall call, String idempotencyKey) throws Exception {
    // One deadline for the whole exchange: the DNS answer, connecting, and reading the answer.
    long timeoutMillis = settings.timeout().toMillis();
    long deadlineNanos = System.nanoTime() + timeoutMillis * 1_000_000;
    RequestOptions options;
    try {
      options =
          PinnedRequests.to(vertx, rules, call.url()).await(timeoutMillis, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw timedOut();
    }
    options
        .setMethod(HttpMethod.valueOf(call.method()))
        .setConnectTimeout(Math.max(1, remainingMillis(deadlineNanos)))
        .putHeader(HttpCall.IDEMPOTENCY_HEADER, idempotencyKey)
        .putHeader("User-Agent", "Spool-Http/1");
    call.headers().forEach(options::putHeader);
    Buffer payload = null;
    if (call.body() != null) {
      payload =
          Buffer.buffer(
              call.body().isTextual() ? call.body().asText() : JobJson.encode(call.body()));
      if (!call.body().isTextual() && !call.hasHeader("Content-Type")) {
        options.putHeader("Content-Type", "application/json");
      }
    }
    HttpClientRequest request = StreamedResponse.open(client, options);
    var timedOut = new AtomicBoolean();
    long deadline =
        vertx.setTimer(
            Math.max(1, remainingMillis(deadlineNanos)),
            id -> {
              timedOut.set(true);
              request.reset();
            });
    try {
      var answer = StreamedResponse.send(request, payload).await();
      HttpClientResponse response = answer.response();
      int status = response.statusCode();
      if (status == 408 || status == 425 || status == 429 || status >= 500) {
        throw new IOException(
            call.method() + " " + call.url() + " answered " + status + "; trying again later");
      }
      var body = Buffer.buffer();
      boolean truncated = false;
      for (var chunks = answer.chunks(); chunks.hasNext(); ) {
        Buffer chunk = chunks.next();
        int room = settings.maxResponseBytes() - body.length();
        if (chunk.length() > room) {
          body.appendBuffer(chunk, 0, room);
          truncated = true;
          // The rest is not wanted: drop the connection rather than read it.
          request.reset();
          break;
        }
        body.appendBuffer(chunk);
      }
      ObjectNode result = JobJson.MAPPER.createObjectNode().put("status", status);
      result.set("body", bodyOf(body, response.getHeader("Content-Type"), truncated));
      if (truncated) {
        result.put("truncated", true);
      }
      return result;
    } catch (Exception e) {
      // Interrupted (cancelled, timed out) or broken: drop the connection at once.
      request.reset();
      if (timedOut.get()) {
        throw timedOut();
      }
      throw e;
    } finally {
      vertx.cancelTimer(deadline);
    }
  }

  private TimeoutException timedOut() {
    return new TimeoutException(
        "no complete answer within " + settings.timeout().toSeconds() + " s");
  }

  private static long remainingMillis(long deadlineNanos) {
    return (deadlineNanos - System.nanoTime()) / 1_000_000;
  }

  /**
   * JSON if the answer says so and parses, else text (U+0000, which Postgres cannot store,
   * replaced).
   */
  private static JsonNode bodyOf(Buffer body, String contentType, boolean truncated) {
    String text = body.toString(StandardCharsets.UTF_8).replace('\u0000', '\uFFFD');
    if (!truncated
        && contentType != null
        && contentType.toLowerCase(Locale.ROOT).contains("json")
        && !text.isBlank()) {
      try {
        JsonNode json = JobJson.tree(text);
        if (!JobJson.containsNul(json)) {
          return json;
        }
      } catch (RuntimeException notJson) {
        // Served as JSON but is not: keep it as text.
      }
    }
    return JobJson.MAPPER.getNodeFactory().textNode(text);
  }
}
