package io.spool.worker.builtin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.spool.config.SpoolConfig.Llm;
import io.spool.handler.JobContext;
import io.spool.handler.JobHandler;
import io.spool.handler.PartialResultException;
import io.spool.model.JobJson;
import io.spool.net.HttpCall;
import io.spool.net.LlmCall;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code llm}: streams a chat completion from the OpenAI-compatible server at {@code
 * SPOOL_LLM_BASE_URL} ({@code POST /chat/completions}, {@code stream: true}, {@code
 * SPOOL_LLM_API_KEY} as bearer), the request passed through. Each streamed delta is emitted as an
 * {@code output} event {@code {"text": "<delta>"}} (deltas close together share one event in the
 * log: see {@code SPOOL_EVENT_COALESCE_MILLIS}); the result is {@code {"text", "usage",
 * "finish_reason", "model"}}. The call runs inside {@code once}, so a retry after a finished reply
 * returns it without paying again. Cancellation (or the job's timeout) aborts the stream at once;
 * the text so far is kept as the job's result, {@code {"text": "...", "partial": true}}. A stream
 * that breaks, an error answer or a silent server ({@code SPOOL_LLM_IDLE_TIMEOUT_SECS}) fails the
 * attempt, keeping its partial text, and a retry asks again from the start.
 */
public final class LlmHandler implements JobHandler {
  /** How much of an error answer's body is quoted in the job's error. */
  private static final int MAX_ERROR_BODY = 2000;

  private final HttpClient client;
  private final Llm settings;
  private final String completionsUrl;

  public LlmHandler(HttpClient client, Llm settings) {
    this.client = client;
    this.settings = settings;
    this.completionsUrl = settings.baseUrl().replaceAll("/+$", "") + "/chat/completions";
  }

  @Override
  public String type() {
    return LlmCall.TYPE;
  }

  @Override
  public JsonNode run(JobContext context) throws Exception {
    var problems = new RequestProblems();
    LlmCall.check(context.request(), problems);
    problems.throwIfAny();
    return context.once("llm", key -> complete(context, key));
  }

  private JsonNode complete(JobContext context, String idempotencyKey) throws Exception {
    var options =
        new RequestOptions()
            .setMethod(HttpMethod.POST)
            .setAbsoluteURI(completionsUrl)
            .setIdleTimeout(settings.idleTimeout().toMillis())
            .setConnectTimeout(settings.idleTimeout().toMillis())
            .putHeader("Content-Type", "application/json")
            .putHeader("Accept", "text/event-stream")
            .putHeader(HttpCall.IDEMPOTENCY_HEADER, idempotencyKey);
    if (settings.apiKey() != null) {
      options.putHeader("Authorization", "Bearer " + settings.apiKey());
    }
    var reply = new Reply();
    HttpClientRequest request = StreamedResponse.open(client, options);
    try {
      stream(request, reply, context, settings.idleTimeout().toMillis()).await();
      if (!reply.done && reply.finishReason == null) {
        throw new IOException("the model's stream ended before [DONE]");
      }
      return reply.result();
    } catch (Exception e) {
      // Close the connection: the server stops generating (and billing) once it notices.
      request.reset();
      if (reply.isEmpty()) {
        throw e;
      }
      throw new PartialResultException(
          e instanceof InterruptedException
              ? "interrupted"
              : e.getMessage() == null ? e.toString() : e.getMessage(),
          reply.partial(),
          e);
    }
  }

  /**
   * Sends the request and reads the streamed answer on the connection's event loop as it arrives,
   * each chunk's lines taken (and their deltas emitted) at once, without a hop to the handler's
   * thread per chunk: at 50 deltas a second per job, those hops were most of a stream's cost.
   * Completes when the stream ends, after {@code [DONE]}, or fails with what broke it, or once the
   * model has sent nothing for {@code idleMillis}.
   */
  private static Future<Void> stream(
      HttpClientRequest request, Reply reply, JobContext context, long idleMillis) {
    Promise<Void> streamed = Promise.promise();
    // The idle timeout and a reset arrive here once the answer has begun, not on the response.
    request.exceptionHandler(streamed::tryFail);
    request
        .response()
        .onFailure(streamed::tryFail)
        .onSuccess(
            response -> {
              // Attached as the answer arrives, before any of its body is handled.
              response.exceptionHandler(streamed::tryFail);
              if (response.statusCode() != 200) {
                var body = Buffer.buffer();
                response.handler(
                    chunk -> {
                      if (body.length() < MAX_ERROR_BODY) {
                        body.appendBuffer(chunk);
                      }
                    });
                response.endHandler(
                    v ->
                        streamed.tryFail(
                            new IOException(
                                "the model server answered "
                                    + response.statusCode()
                                    + errorKind(body))));
                return;
              }
              var lines = new LineSplitter();
              var silence = new Silence(Vertx.currentContext().owner(), idleMillis, streamed);
              response.handler(
                  chunk -> {
                    silence.heard();
                    try {
                      for (String line : lines.feed(chunk)) {
                        reply.take(line, context);
                        if (reply.done) {
                          streamed.tryComplete();
                          return;
                        }
                      }
                    } catch (RuntimeException e) {
                      streamed.tryFail(e);
                    }
                  });
              response.endHandler(v -> streamed.tryComplete());
            });
    request.end(Buffer.buffer(JobJson.encode(LlmCall.streamingBody(context.request()))));
    return streamed.future();
  }

  /**
   * Fails a stream the model has gone silent on. The request's own idle timeout covers only the
   * wait for the answer to begin: Vert.x cancels it once the headers are in.
   */
  private static final class Silence {
    private final Vertx vertx;
    private final long limitMillis;
    private final Promise<Void> streamed;
    private volatile long lastHeard = System.nanoTime();
    private volatile long timer;

    Silence(Vertx vertx, long limitMillis, Promise<Void> streamed) {
      this.vertx = vertx;
      this.limitMillis = limitMillis;
      this.streamed = streamed;
      timer = vertx.setTimer(limitMillis, this::check);
      streamed.future().onComplete(done -> vertx.cancelTimer(timer));
    }

    void heard() {
      lastHeard = System.nanoTime();
    }

    private void check(long id) {
      long quiet = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastHeard);
      if (quiet >= limitMillis) {
        streamed.tryFail(new TimeoutException("the model sent nothing for " + limitMillis + " ms"));
      } else if (!streamed.future().isComplete()) {
        timer = vertx.setTimer(limitMillis - quiet, this::check);
      }
    }
  }

  /**
   * The error's type and code from an OpenAI-style error body, for the job's error. Its message is
   * not copied: providers quote the (masked) key and account ids there, and the job is the user's.
   */
  private static String errorKind(Buffer body) {
    try {
      JsonNode error = JobJson.tree(body.toString(StandardCharsets.UTF_8)).path("error");
      String kind =
          String.join(
              ", ",
              java.util.stream.Stream.of(
                      error.path("type").asText(null), error.path("code").asText(null))
                  .filter(s -> s != null && !s.isBlank() && s.length() <= 100)
                  .toList());
      return kind.isEmpty() ? "" : " (" + kind.replaceAll("[^\\x20-\\x7e]", "?") + ")";
    } catch (RuntimeException notJson) {
      return "";
    }
  }

  /**
   * The reply being streamed: its text so far and what the last chunks said. Written on the
   * connection's event loop, read on the handler's thread once the stream is over (or given up on),
   * so under its lock.
   */
  private static final class Reply {
    final StringBuilder text = new StringBuilder();
    JsonNode usage;
    String finishReason;
    String model;
    volatile boolean done;

    /**
     * Takes one line of the event stream: {@code data: {chunk}}, {@code data: [DONE]}, or anything
     * else.
     */
    synchronized void take(String line, JobContext context) {
      if (!line.startsWith("data:")) {
        return;
      }
      String data = line.substring(5).trim();
      if (data.equals("[DONE]")) {
        done = true;
        return;
      }
      JsonNode chunk = JobJson.tree(data);
      if (chunk.hasNonNull("error")) {
        throw new IllegalStateException(
            "the model server reported an error: " + JobJson.encode(chunk.get("error")));
      }
      if (chunk.hasNonNull("model")) {
        model = chunk.get("model").asText();
      }
      if (chunk.path("usage").isObject()) {
        usage = chunk.get("usage");
      }
      JsonNode choice = chunk.path("choices").path(0);
      String delta = choice.path("delta").path("content").asText("");
      if (!delta.isEmpty()) {
        text.append(delta);
        context.emit("output", JobJson.MAPPER.createObjectNode().put("text", delta));
      }
      if (choice.hasNonNull("finish_reason")) {
        finishReason = choice.get("finish_reason").asText();
      }
    }

    synchronized ObjectNode result() {
      ObjectNode result = JobJson.MAPPER.createObjectNode().put("text", text.toString());
      result.set("usage", usage);
      result.put("finish_reason", finishReason);
      result.put("model", model);
      return result;
    }

    synchronized boolean isEmpty() {
      return text.isEmpty();
    }

    synchronized ObjectNode partial() {
      return JobJson.MAPPER.createObjectNode().put("text", text.toString()).put("partial", true);
    }
  }

  /**
   * Splits a byte stream into UTF-8 lines, whatever the chunk boundaries (a character may straddle
   * two).
   */
  static final class LineSplitter {
    private Buffer pending = Buffer.buffer();

    List<String> feed(Buffer chunk) {
      pending.appendBuffer(chunk);
      var lines = new ArrayList<String>();
      int start = 0;
      for (int i = 0; i < pending.length(); i++) {
        if (pending.getByte(i) == '\n') {
          int end = i > start && pending.getByte(i - 1) == '\r' ? i - 1 : i;
          lines.add(pending.getString(start, end, "UTF-8"));
          start = i + 1;
        }
      }
      pending = pending.getBuffer(start, pending.length());
      return lines;
    }
  }
}
