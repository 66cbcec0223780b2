package io.spool.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.spool.client.JobRequest;
import io.spool.client.SpoolClient;
import io.spool.model.JobJson;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.HdrHistogram.SynchronizedHistogram;

/**
 * The WebSocket subscriber benchmark: S sockets on one gateway watching J long {@code sleep} jobs
 * that emit a {@code progress} event every interval, and how long each event takes from its
 * emission (the event's {@code ts}, the worker's clock) to a subscriber — counted only once every
 * socket is connected. Each socket follows {@code jobsPerSocket} jobs: one on {@code
 * /v1/jobs/{id}/ws}, several through {@code /v1/ws}. Given the gateway's pid, it samples the
 * gateway's resident memory.
 */
final class SubscriberRun {
  /**
   * Connections being opened at once: beyond a few hundred the gateway's accept backlog overflows.
   */
  private static final int CONNECTS_IN_FLIGHT = 200;

  record Options(
      String url,
      String apiKey,
      int sockets,
      int jobsPerSocket,
      int watchJobs,
      int intervalMillis,
      int durationSecs,
      Long gatewayPid,
      int timeoutSecs) {}

  private final Options options;
  private final Vertx vertx;
  private final GatewayTarget target;
  private final Histogram latencyMicros = new SynchronizedHistogram(3_600_000_000L, 3);
  private final AtomicInteger connected = new AtomicInteger();
  private final AtomicInteger connectFailures = new AtomicInteger();
  private final AtomicInteger ended = new AtomicInteger();
  private final AtomicInteger closedEarly = new AtomicInteger();
  private final AtomicLong eventsReceived = new AtomicLong();
  private final AtomicLong eventsMeasured = new AtomicLong();
  private volatile String lastError;

  /**
   * Events emitted before this are not measured: they may have queued behind the connection storm.
   */
  private volatile Instant measureFrom = Instant.MAX;

  private volatile long peakRssKb;
  private WebSocketClient sockets;

  /**
   * Events emitted before the first job ended: streaming, without the burst of every job ending at
   * once.
   */
  private final Histogram streamingMicros = new SynchronizedHistogram(3_600_000_000L, 3);

  private volatile Instant firstEnd = Instant.MAX;

  /** The last second's latencies, printed as the run goes. */
  private final Recorder interval = new Recorder(3);

  private final ProcessCpu cpu;

  SubscriberRun(Options options, ProcessCpu cpu) {
    this.options = options;
    this.cpu = cpu;
    this.vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
    this.target = GatewayTarget.of(options.url(), options.apiKey());
  }

  String run() throws Exception {
    try {
      long baselineRssKb = rssKb();
      List<String> jobs = submitJobs();
      System.out.printf(
          "submitted %d sleep jobs (%d s, an event every %d ms, starting in %d s); connecting %d sockets...%n",
          jobs.size(),
          options.durationSecs(),
          options.intervalMillis(),
          startDelaySecs(),
          options.sockets());
      long connectStart = System.nanoTime();
      connectAll(jobs);
      double connectSecs = (System.nanoTime() - connectStart) / 1e9;
      measureFrom = Instant.now();
      long framesBefore = eventsReceived.get();
      ProcessCpu.Sample cpuBefore = cpu.sample();
      long measureStart = System.nanoTime();
      if (connectSecs > startDelaySecs()) {
        System.out.println(
            "warning: connecting took longer than the jobs' start delay; early events met a busy gateway");
      }
      long connectedRssKb = rssKb();
      System.out.printf(
          "%d sockets connected in %.1f s (%d failed); measuring until the jobs end...%n",
          connected.get(), connectSecs, connectFailures.get());
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(options.timeoutSecs());
      while (ended.get() + connectFailures.get() < options.sockets()
          && System.nanoTime() < deadline) {
        peakRssKb = Math.max(peakRssKb, rssKb());
        Thread.sleep(1000);
        Histogram second = interval.getIntervalHistogram();
        if (second.getTotalCount() > 0) {
          System.out.printf(
              Locale.ROOT,
              "  %,8d events   %s   %d sockets done%n",
              second.getTotalCount(),
              BenchResult.line(second),
              ended.get());
        }
      }
      var delivery =
          new Delivery(
              eventsReceived.get() - framesBefore,
              (System.nanoTime() - measureStart) / 1e9,
              cpuBefore,
              cpu.sample());
      return report(baselineRssKb, connectedRssKb, connectSecs, delivery);
    } finally {
      vertx.close().await();
    }
  }

  private List<String> submitJobs() throws Exception {
    int steps = Math.max(1, options.durationSecs() * 1000 / options.intervalMillis());
    Map<String, Long> request = Map.of("ms", options.durationSecs() * 1000L, "steps", (long) steps);
    var batch = new ArrayList<JobRequest>();
    // They start once the sockets should all be connected (so the connection storm is not what is
    // measured), spread over one interval as independent jobs would be, not all emitting at once.
    Instant first = Instant.now().plusSeconds(startDelaySecs());
    for (int i = 0; i < options.watchJobs(); i++) {
      long offsetMillis = (long) i * options.intervalMillis() / options.watchJobs();
      batch.add(
          JobRequest.builder("sleep")
              .request(request)
              .runAt(first.plusMillis(offsetMillis))
              .build());
    }
    var client = SpoolClient.builder(options.url()).apiKey(options.apiKey()).vertx(vertx).build();
    try {
      return client.submitBatch(batch).await(30, TimeUnit.SECONDS).stream()
          .map(job -> job.id().toString())
          .toList();
    } finally {
      client.close().await();
    }
  }

  private void connectAll(List<String> jobs) throws InterruptedException {
    // Held in a field for the whole run: a Vert.x client nobody references is closed by a cleaner
    // when it is garbage-collected, and takes its sockets with it (each closed normally, 1000).
    sockets =
        vertx.createWebSocketClient(
            new WebSocketClientOptions()
                .setMaxConnections(options.sockets() + 1)
                .setConnectTimeout(30_000));
    WebSocketClient client = sockets;
    var permits = new Semaphore(CONNECTS_IN_FLIGHT);
    int next = 0;
    for (int i = 0; i < options.sockets(); i++) {
      permits.acquire();
      var followed = new ArrayList<String>(options.jobsPerSocket());
      for (int k = 0; k < options.jobsPerSocket(); k++) {
        followed.add(jobs.get(next++ % jobs.size()));
      }
      connect(client, followed).onComplete(done -> permits.release());
    }
    permits.acquire(CONNECTS_IN_FLIGHT);
  }

  private Future<Void> connect(WebSocketClient client, List<String> followed) {
    boolean single = followed.size() == 1;
    var connect =
        new WebSocketConnectOptions()
            .setHost(target.host())
            .setPort(target.port())
            .setURI(single ? "/v1/jobs/" + followed.get(0) + "/ws" : "/v1/ws");
    target.authorize(connect::addHeader);
    var remaining = new AtomicInteger(followed.size());
    return client
        .connect(connect)
        .<Void>map(
            socket -> {
              connected.incrementAndGet();
              socket.textMessageHandler(text -> onEvent(text, remaining));
              var failure = new AtomicReference<String>();
              socket.exceptionHandler(e -> failure.set(e.toString()));
              socket.closeHandler(
                  v -> {
                    if (remaining.get() > 0) {
                      lastError =
                          closedEarly.incrementAndGet()
                              + " sockets closed before their jobs ended (last: status "
                              + socket.closeStatusCode()
                              + " "
                              + socket.closeReason()
                              + (failure.get() == null ? "" : ", " + failure.get())
                              + ")";
                      ended.incrementAndGet();
                    }
                  });
              if (!single) {
                followed.forEach(
                    id ->
                        socket.writeTextMessage(
                            "{\"op\":\"subscribe\",\"job_id\":\"" + id + "\"}"));
              }
              return null;
            })
        .onFailure(
            e -> {
              connectFailures.incrementAndGet();
              lastError = "connect: " + e;
            })
        .recover(e -> Future.succeededFuture());
  }

  private void onEvent(String text, AtomicInteger remaining) {
    eventsReceived.incrementAndGet();
    // Only two fields are needed: read them straight from the text (Spool writes events with these
    // fields first, unescaped), so the client's parsing does not crowd out the gateway on a shared
    // machine.
    String type = field(text, "\"type\":\"");
    if (type.equals("progress")) {
      Instant ts = Instant.parse(field(text, "\"ts\":\""));
      if (!ts.isBefore(measureFrom)) {
        Instant now = Instant.now();
        long micros =
            Math.max(
                1,
                (now.getEpochSecond() - ts.getEpochSecond()) * 1_000_000
                    + (now.getNano() - ts.getNano()) / 1000);
        latencyMicros.recordValue(micros);
        interval.recordValue(micros);
        if (ts.isBefore(firstEnd)) {
          streamingMicros.recordValue(micros);
        }
        eventsMeasured.incrementAndGet();
      }
    } else if (type.equals("end")) {
      if (firstEnd.equals(Instant.MAX)) {
        firstEnd = Instant.now();
      }
      if (remaining.decrementAndGet() == 0) {
        ended.incrementAndGet();
      }
    }
  }

  private static String field(String json, String key) {
    int from = json.indexOf(key);
    if (from < 0) {
      return "";
    }
    from += key.length();
    return json.substring(from, json.indexOf('"', from));
  }

  /** Time to connect every socket, generously: about a thousand a second on a small machine. */
  private int startDelaySecs() {
    return 5 + options.sockets() / 1000;
  }

  /** The gateway's resident set in KiB, or -1 without a pid. */
  private long rssKb() {
    if (options.gatewayPid() == null) {
      return -1;
    }
    try {
      for (String line :
          Files.readAllLines(Path.of("/proc", options.gatewayPid().toString(), "status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException | NumberFormatException e) {
      lastError = "cannot read the gateway's memory: " + e;
    }
    return -1;
  }

  /**
   * What the processes spent delivering frames, from the moment every socket was connected to the
   * end: frames (every event a socket received, {@code end} included) per second, and each
   * process's CPU milliseconds per 1,000 frames.
   */
  private record Delivery(
      long frames, double seconds, ProcessCpu.Sample before, ProcessCpu.Sample after) {
    double framesPerSec() {
      return frames / Math.max(seconds, 1e-9);
    }

    Map<String, Double> cpuMillisPerThousandFrames() {
      return ProcessCpu.millisPerThousand(before, after, frames);
    }
  }

  private String report(
      long baselineRssKb, long connectedRssKb, double connectSecs, Delivery delivery) {
    int subscribers = connected.get() * options.jobsPerSocket();
    String memory =
        baselineRssKb < 0
            ? "not sampled (pass --gateway-pid)"
            : String.format(
                Locale.ROOT,
                "RSS %d MiB before, %d MiB connected, %d MiB peak: %.1f KiB per socket",
                baselineRssKb / 1024,
                connectedRssKb / 1024,
                peakRssKb / 1024,
                (double) (Math.max(connectedRssKb, peakRssKb) - baselineRssKb)
                    / Math.max(1, connected.get()));
    System.out.printf(
        Locale.ROOT,
        """
        Spool bench (subscribers): %d sockets x %d jobs each = %d subscriptions over %d jobs
          connected %d in %.1f s, %d failed; %d saw every job end, %d closed before
          events received %d; measured %d progress events emitted after all were connected
          delivery latency ms    %s   (emitted by the worker -> read by the subscriber)
            while streaming      %s   (events emitted before the first job ended)
          frames delivered       %,d in %.1f s once all were connected: %,.0f frames/s
          CPU ms per 1,000 frames  %s
          gateway memory         %s%s%n""",
        options.sockets(),
        options.jobsPerSocket(),
        subscribers,
        options.watchJobs(),
        connected.get(),
        connectSecs,
        connectFailures.get(),
        ended.get() - closedEarly.get(),
        closedEarly.get(),
        eventsReceived.get(),
        eventsMeasured.get(),
        BenchResult.line(latencyMicros),
        BenchResult.line(streamingMicros),
        delivery.frames(),
        delivery.seconds(),
        delivery.framesPerSec(),
        delivery.cpuMillisPerThousandFrames(),
        memory,
        lastError == null ? "" : "\n  last error: " + lastError);
    ObjectNode json =
        JobJson.MAPPER
            .createObjectNode()
            .put("mode", "subscribers")
            .put("sockets", options.sockets())
            .put("jobs_per_socket", options.jobsPerSocket())
            .put("subscriptions", subscribers)
            .put("watched_jobs", options.watchJobs())
            .put("connected", connected.get())
            .put("connect_failures", connectFailures.get())
            .put("closed_before_end", closedEarly.get())
            .put("connect_seconds", BenchResult.round(connectSecs))
            .put("events_received", eventsReceived.get())
            .put("events_measured", eventsMeasured.get())
            .put("gateway_rss_mib_before", baselineRssKb < 0 ? null : baselineRssKb / 1024)
            .put("gateway_rss_mib_connected", connectedRssKb < 0 ? null : connectedRssKb / 1024)
            .put("gateway_rss_mib_peak", peakRssKb <= 0 ? null : peakRssKb / 1024);
    json.set("delivery_latency_ms", BenchResult.percentiles(latencyMicros));
    json.set("streaming_delivery_latency_ms", BenchResult.percentiles(streamingMicros));
    json.put("frames_delivered", delivery.frames())
        .put("frames_per_sec", BenchResult.round(delivery.framesPerSec()));
    json.set(
        "cpu_ms_per_1000_frames",
        JobJson.MAPPER.valueToTree(delivery.cpuMillisPerThousandFrames()));
    if (baselineRssKb >= 0) {
      json.put(
          "gateway_kib_per_socket",
          BenchResult.round(
              (double) (Math.max(connectedRssKb, peakRssKb) - baselineRssKb)
                  / Math.max(1, connected.get())));
    }
    return JobJson.encode(json);
  }

  boolean clean() {
    return connectFailures.get() == 0 && closedEarly.get() == 0 && eventsMeasured.get() > 0;
  }
}
