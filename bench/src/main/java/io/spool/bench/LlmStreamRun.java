package io.spool.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.spool.client.JobRequest;
import io.spool.client.SpoolClient;
import io.spool.model.JobJson;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.SynchronizedHistogram;

/**
 * The token-streaming benchmark: this process serves a stand-in OpenAI-compatible model (every
 * request streams {@code deltas} chunks, one per interval, each delta's text its index and send
 * time, {@code "17@1764000000123456;"}; a tick that comes late sends every delta due by then, so a
 * loaded machine still streams at the asked rate, and the streams' real length is reported),
 * submits N {@code llm} jobs against it (the worker must have {@code SPOOL_LLM_BASE_URL} pointing
 * here), follows each job over its own WebSocket, and reports how long each delta took from the
 * model sending it to the watcher reading it (deltas sent after the watcher's socket opened),
 * whether every job's text arrived whole and in order, the frames delivered, each process's CPU per
 * 1,000 frames, and the Redis commands per job per second of streaming ({@code INFO commandstats},
 * script-internal commands included).
 */
final class LlmStreamRun {
  record Options(
      String url,
      String apiKey,
      int jobs,
      int deltas,
      int intervalMillis,
      int modelPort,
      String redisUrl,
      int timeoutSecs) {}

  private final Options options;
  private final ProcessCpu cpu;
  private final Vertx vertx;
  private final GatewayTarget target;
  private final Histogram latencyMicros = new SynchronizedHistogram(3_600_000_000L, 3);
  private final AtomicLong frames = new AtomicLong();
  private final AtomicLong outputEvents = new AtomicLong();
  private final AtomicInteger whole = new AtomicInteger();
  private final AtomicInteger broken = new AtomicInteger();
  private final AtomicInteger ended = new AtomicInteger();
  private final AtomicInteger streamsServed = new AtomicInteger();

  /** The lengths, from first delta to last, of the streams that sent them all, and how many. */
  private final AtomicLong streamNanos = new AtomicLong();

  private final AtomicInteger streamsSent = new AtomicInteger();
  private volatile String lastError;

  LlmStreamRun(Options options, ProcessCpu cpu) {
    this.options = options;
    this.cpu = cpu;
    this.vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
    this.target = GatewayTarget.of(options.url(), options.apiKey());
  }

  String run() throws Exception {
    HttpServer model =
        vertx
            .createHttpServer()
            .requestHandler(this::serveCompletion)
            .listen(options.modelPort(), "127.0.0.1")
            .await(10, TimeUnit.SECONDS);
    Redis redis = options.redisUrl() == null ? null : Redis.createClient(vertx, options.redisUrl());
    try {
      Calls commandsBefore = redis == null ? null : commandCalls(redis);
      ProcessCpu.Sample cpuBefore = cpu.sample();
      long start = System.nanoTime();
      var client = SpoolClient.builder(options.url()).apiKey(options.apiKey()).vertx(vertx).build();
      var requests = new ArrayList<JobRequest>();
      for (int i = 0; i < options.jobs(); i++) {
        requests.add(
            JobRequest.builder("llm")
                .request(
                    Map.of(
                        "model",
                        "bench",
                        "messages",
                        List.of(Map.of("role", "user", "content", "Count for me."))))
                .build());
      }
      List<String> ids =
          client.submitBatch(requests).await(60, TimeUnit.SECONDS).stream()
              .map(job -> job.id().toString())
              .toList();
      client.close().await();
      WebSocketClient sockets =
          vertx.createWebSocketClient(
              new WebSocketClientOptions()
                  .setMaxConnections(options.jobs() + 1)
                  .setMaxFrameSize(1 << 20)
                  .setMaxMessageSize(16 << 20));
      ids.forEach(id -> follow(sockets, id));
      System.out.printf(
          "submitted %d llm jobs (%d deltas each, one every %d ms); following each over a WebSocket...%n",
          ids.size(), options.deltas(), options.intervalMillis());
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(options.timeoutSecs());
      while (ended.get() < ids.size() && System.nanoTime() < deadline) {
        Thread.sleep(200);
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      ProcessCpu.Sample cpuAfter = cpu.sample();
      Calls commands = redis == null ? null : commandCalls(redis).minus(commandsBefore);
      return report(seconds, cpuBefore, cpuAfter, commands);
    } finally {
      if (redis != null) {
        redis.close();
      }
      model.close();
      vertx.close().await();
    }
  }

  /** POST /v1/chat/completions: the deltas as Server-Sent Events, then a stop and the usage. */
  private void serveCompletion(HttpServerRequest request) {
    request
        .body()
        .onSuccess(
            body -> {
              streamsServed.incrementAndGet();
              var response =
                  request
                      .response()
                      .setChunked(true)
                      .putHeader("Content-Type", "text/event-stream");
              var sent = new AtomicInteger();
              long start = System.nanoTime();
              vertx.setPeriodic(
                  0,
                  options.intervalMillis(),
                  timer -> {
                    if (response.closed()) {
                      vertx.cancelTimer(timer);
                      return;
                    }
                    long due =
                        Math.min(
                            options.deltas(),
                            1
                                + (System.nanoTime() - start)
                                    / TimeUnit.MILLISECONDS.toNanos(options.intervalMillis()));
                    if (sent.get() < options.deltas()) {
                      var chunk = new StringBuilder();
                      long now = nowMicros();
                      for (int i = sent.get(); i < due; i = sent.incrementAndGet()) {
                        chunk
                            .append(
                                "data: {\"id\":\"b\",\"object\":\"chat.completion.chunk\",\"model\":\"bench\","
                                    + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"")
                            .append(i)
                            .append('@')
                            .append(now)
                            .append(";\"},\"finish_reason\":null}]}\n\n");
                      }
                      response.write(chunk.toString());
                      if (sent.get() == options.deltas()) {
                        streamNanos.addAndGet(System.nanoTime() - start);
                        streamsSent.incrementAndGet();
                      }
                      return;
                    }
                    vertx.cancelTimer(timer);
                    response.end(
                        "data: {\"id\":\"b\",\"model\":\"bench\",\"choices\":[{\"index\":0,\"delta\":{},"
                            + "\"finish_reason\":\"stop\"}]}\n\n"
                            + "data: {\"id\":\"b\",\"model\":\"bench\",\"choices\":[],\"usage\":"
                            + "{\"prompt_tokens\":3,\"completion_tokens\":"
                            + options.deltas()
                            + ",\"total_tokens\":"
                            + (options.deltas() + 3)
                            + "}}\n\n"
                            + "data: [DONE]\n\n");
                  });
            });
  }

  private static long nowMicros() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000 + now.getNano() / 1000;
  }

  /** What one watcher has seen of its job's text. */
  private static final class Watch {
    final StringBuilder text = new StringBuilder();
    int nextDelta;
    boolean inOrder = true;
    long openedMicros = Long.MAX_VALUE;
  }

  private void follow(WebSocketClient sockets, String id) {
    var connect =
        new WebSocketConnectOptions()
            .setHost(target.host())
            .setPort(target.port())
            .setURI("/v1/jobs/" + id + "/ws");
    target.authorize(connect::addHeader);
    var watch = new Watch();
    sockets
        .connect(connect)
        .onSuccess(
            socket -> {
              watch.openedMicros = nowMicros();
              socket.textMessageHandler(text -> onEvent(watch, text));
              socket.closeHandler(
                  v -> {
                    if (watch.nextDelta < options.deltas()) {
                      broken.incrementAndGet();
                      lastError =
                          "job "
                              + id
                              + ": socket closed after "
                              + watch.nextDelta
                              + " deltas ("
                              + socket.closeStatusCode()
                              + " "
                              + socket.closeReason()
                              + ")";
                      ended.incrementAndGet();
                    }
                  });
            })
        .onFailure(
            e -> {
              broken.incrementAndGet();
              ended.incrementAndGet();
              lastError = "connect: " + e;
            });
  }

  private void onEvent(Watch watch, String text) {
    frames.incrementAndGet();
    JsonNode event;
    try {
      event = JobJson.MAPPER.readTree(text);
    } catch (Exception e) {
      lastError = "unreadable frame: " + e;
      return;
    }
    String type = event.path("type").asText();
    if (type.equals("output")) {
      outputEvents.incrementAndGet();
      String chunk = event.path("data").path("text").asText();
      watch.text.append(chunk);
      long now = nowMicros();
      int from = 0;
      for (int end = chunk.indexOf(';'); end >= 0; end = chunk.indexOf(';', from)) {
        String delta = chunk.substring(from, end);
        from = end + 1;
        int at = delta.indexOf('@');
        int index = at < 0 ? -1 : Integer.parseInt(delta.substring(0, at));
        if (index != watch.nextDelta) {
          watch.inOrder = false;
        }
        watch.nextDelta = index + 1;
        long sent = Long.parseLong(delta.substring(at + 1));
        if (sent >= watch.openedMicros) {
          latencyMicros.recordValue(Math.max(1, now - sent));
        }
      }
    } else if (type.equals("end")) {
      String result = event.path("data").path("result").path("text").asText(null);
      if (watch.inOrder
          && watch.nextDelta == options.deltas()
          && watch.text.toString().equals(result)) {
        whole.incrementAndGet();
      } else {
        broken.incrementAndGet();
        lastError =
            "a job's text did not arrive whole and in order ("
                + watch.nextDelta
                + " deltas seen, status "
                + event.path("data").path("status").asText()
                + ")";
      }
      ended.incrementAndGet();
    }
  }

  /**
   * Calls so far, from {@code INFO commandstats}: of every Redis command (those a script runs
   * included), and of scripts ({@code EVALSHA}, {@code EVAL}, {@code FCALL}).
   */
  private record Calls(long all, long scripts) {
    Calls minus(Calls before) {
      // The INFO that read {@code before} is counted in this reading.
      return new Calls(all - before.all - 1, scripts - before.scripts);
    }
  }

  private static Calls commandCalls(Redis redis) throws java.util.concurrent.TimeoutException {
    String info =
        redis
            .send(Request.cmd(Command.INFO).arg("commandstats"))
            .await(10, TimeUnit.SECONDS)
            .toString();
    long all = 0;
    long scripts = 0;
    for (String line : info.split("\r?\n")) {
      int at = line.indexOf("calls=");
      if (line.startsWith("cmdstat_") && at > 0) {
        int end = line.indexOf(',', at);
        long calls = Long.parseLong(line.substring(at + 6, end < 0 ? line.length() : end));
        all += calls;
        String name = line.substring(8, line.indexOf(':'));
        if (name.equals("evalsha") || name.equals("eval") || name.equals("fcall")) {
          scripts += calls;
        }
      }
    }
    return new Calls(all, scripts);
  }

  private String report(
      double seconds, ProcessCpu.Sample before, ProcessCpu.Sample after, Calls commands) {
    double streamSecs = options.deltas() * options.intervalMillis() / 1000.0;
    // Per second of streaming as it happened: late ticks catch up, but a stream can still run long.
    double actualStreamSecs =
        streamsSent.get() == 0 ? streamSecs : streamNanos.get() / 1e9 / streamsSent.get();
    double jobSecs = options.jobs() * Math.max(streamSecs, actualStreamSecs);
    double perJobSec = commands == null ? -1 : commands.all() / jobSecs;
    double scriptsPerJobSec = commands == null ? -1 : commands.scripts() / jobSecs;
    Map<String, Double> cpuPerFrame = ProcessCpu.millisPerThousand(before, after, frames.get());
    System.out.printf(
        Locale.ROOT,
        """
        Spool bench (llm streams): %d jobs x %d deltas, one every %d ms (%.1f s streams, %.1f s as served), one WebSocket each
          %d streams served by the stand-in model; %d texts arrived whole and in order, %d did not
          delta -> client latency ms  %s   (deltas sent after the watcher connected)
          frames %,d (%,d output events) in %.1f s: %,.0f frames/s
          CPU ms per 1,000 frames     %s
          Redis commands             %s%s%n""",
        options.jobs(),
        options.deltas(),
        options.intervalMillis(),
        streamSecs,
        actualStreamSecs,
        streamsServed.get(),
        whole.get(),
        broken.get(),
        BenchResult.line(latencyMicros),
        frames.get(),
        outputEvents.get(),
        seconds,
        frames.get() / seconds,
        cpuPerFrame,
        commands == null
            ? "not counted (pass --redis-url)"
            : String.format(
                Locale.ROOT,
                "%,d: %.1f per job per second of streaming, those run by scripts included;"
                    + " of them %.1f script calls (round trips)",
                commands.all(),
                perJobSec,
                scriptsPerJobSec),
        lastError == null ? "" : "\n  last error: " + lastError);
    ObjectNode json =
        JobJson.MAPPER
            .createObjectNode()
            .put("mode", "llm")
            .put("jobs", options.jobs())
            .put("deltas", options.deltas())
            .put("interval_ms", options.intervalMillis())
            .put("stream_secs_served", BenchResult.round(actualStreamSecs))
            .put("whole", whole.get())
            .put("broken", broken.get())
            .put("frames", frames.get())
            .put("output_events", outputEvents.get())
            .put("frames_per_sec", BenchResult.round(frames.get() / seconds))
            .put("redis_commands", commands == null ? -1 : commands.all())
            .put("redis_commands_per_job_sec", BenchResult.round(perJobSec))
            .put("redis_script_calls_per_job_sec", BenchResult.round(scriptsPerJobSec));
    json.set("delta_latency_ms", BenchResult.percentiles(latencyMicros));
    json.set("cpu_ms_per_1000_frames", JobJson.MAPPER.valueToTree(cpuPerFrame));
    return JobJson.encode(json);
  }

  boolean clean() {
    return broken.get() == 0 && whole.get() == options.jobs();
  }
}
