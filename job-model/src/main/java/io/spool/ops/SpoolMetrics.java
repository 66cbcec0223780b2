package io.spool.ops;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.spool.model.JobStatus;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.micrometer.Label;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntConsumer;

/**
 * The meters of one Spool process (a gateway or a worker), in a Prometheus registry served at
 * {@code /metrics}. Micrometer names them the Prometheus way: base units in the name, {@code
 * _total} on counters ({@code spool.jobs.completed} is exported as {@code
 * spool_jobs_completed_total}).
 *
 * <p>Labels are bounded: queue and type (each at most {@link #MAX_LABEL_VALUES} distinct values,
 * later ones are counted as {@code other}), status and outcome. Never a job or user id, never a
 * URL.
 */
public final class SpoolMetrics {
  /**
   * Distinct queue (and type) label values per process; a flood of new queue names cannot blow up
   * the series.
   */
  public static final int MAX_LABEL_VALUES = 100;

  public static final String OTHER = "other";
  private static final String SECONDS = "seconds";

  // Job durations run from milliseconds (an http call) to an hour (an agent run).
  private static final Duration[] DURATION_BUCKETS =
      seconds(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600);
  // Submit→start waits: milliseconds when workers keep up, minutes when they do not.
  private static final Duration[] LATENCY_BUCKETS =
      seconds(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900);

  private final PrometheusMeterRegistry registry =
      withLintCleanNames(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
  private final Set<String> queues = ConcurrentHashMap.newKeySet();
  private final Set<String> types = ConcurrentHashMap.newKeySet();

  /**
   * Meters by name and labels: submissions and attempt ends are hot paths, and building a meter's
   * id (tags sorted, a registry lookup) for every job costs more than this one map lookup.
   */
  private final Map<String, Meter> meters = new ConcurrentHashMap<>();

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /**
   * A Vert.x whose HTTP server and client, WebSocket and pool meters (and the JVM's) go to this
   * registry. Only bounded labels: method, status code, route template and pool; not the path, not
   * the remote address (an {@code http} job's destination).
   */
  public Vertx newVertx(VertxOptions options) {
    // Vert.x keeps registries by name, JVM-wide: a name of its own keeps a gateway and a worker in
    // one JVM (as in tests) from sharing one.
    var metrics =
        new MicrometerMetricsOptions()
            .setEnabled(true)
            .setJvmMetricsEnabled(true)
            .setRegistryName("spool-" + System.identityHashCode(this))
            .setLabels(
                EnumSet.of(
                    Label.HTTP_METHOD,
                    Label.HTTP_CODE,
                    Label.HTTP_ROUTE,
                    Label.POOL_TYPE,
                    Label.POOL_NAME));
    var micrometer = new MicrometerMetricsFactory(registry);
    // Wrapped so that a request on a connection accepted in the first moments of a server is
    // answered
    // (see EarlyConnectionSafeMetrics).
    return Vertx.builder()
        .with(options.setMetricsOptions(metrics))
        .withMetrics(
            vertxOptions -> new EarlyConnectionSafeMetrics(micrometer.metrics(vertxOptions)))
        .build();
  }

  /**
   * Gives the JVM and system meters Micrometer binds (through Vert.x) names that pass Prometheus's
   * lint ({@code promtool check metrics}): a gauge ending in {@code _count} reads as half of a
   * histogram, and {@code _ms} or {@code _ns} is not the base unit. Must run before any meter is
   * registered.
   */
  private static PrometheusMeterRegistry withLintCleanNames(PrometheusMeterRegistry registry) {
    registry
        .config()
        .meterFilter(
            new MeterFilter() {
              @Override
              public Meter.Id map(Meter.Id id) {
                return id.getName().equals("system.cpu.count") ? id.withName("system.cpus") : id;
              }
            })
        // Counted in ns and ms: replaced by the same counts in seconds, below.
        .meterFilter(
            MeterFilter.deny(
                id ->
                    id.getName().equals("process.cpu.time")
                        || (id.getName().equals("jvm.compilation.time")
                            && !SECONDS.equals(id.getBaseUnit()))));
    if (ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.OperatingSystemMXBean os) {
      // process_cpu_seconds_total, the name Prometheus's own clients give it.
      FunctionCounter.builder("process.cpu", os, bean -> bean.getProcessCpuTime() / 1e9)
          .baseUnit(SECONDS)
          .description("CPU time used by the process")
          .register(registry);
    }
    CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
    if (jit != null && jit.isCompilationTimeMonitoringSupported()) {
      FunctionCounter.builder(
              "jvm.compilation.time", jit, bean -> bean.getTotalCompilationTime() / 1e3)
          .baseUnit(SECONDS)
          .description("time the JIT compiler has spent compiling")
          .register(registry);
    }
    return registry;
  }

  /** The Prometheus text exposition of every meter. */
  public String scrape() {
    return registry.scrape();
  }

  /** Jobs accepted by this gateway (idempotent replays are not new jobs). */
  public void submitted(String queue, String type) {
    counter("spool.jobs.submitted", "jobs accepted", queue, type).increment();
  }

  /**
   * A pending job cancelled by this gateway; running ones are counted by the worker that ends them.
   */
  public void cancelledWhilePending(String queue, String type) {
    counter("spool.jobs.cancelled", "jobs that ended cancelled", queue, type).increment();
  }

  /**
   * An attempt claimed after waiting {@code waited} since it was due (submitted, scheduled, or out
   * of its backoff).
   */
  public void started(String queue, String type, Duration waited) {
    String q = queueLabel(queue);
    String t = typeLabel(type);
    var timer =
        (Timer)
            meters.computeIfAbsent(
                "spool.job.start.latency\n" + q + "\n" + t,
                key ->
                    Timer.builder("spool.job.start.latency")
                        .description("time from a job being due to an attempt starting")
                        .serviceLevelObjectives(LATENCY_BUCKETS)
                        .tags("queue", q, "type", t)
                        .register(registry));
    timer.record(waited.isNegative() ? Duration.ZERO : waited);
  }

  /**
   * An attempt whose outcome was written: {@code became} is what the job became, counted as {@code
   * completed}, {@code failed} (no attempts left: in the DLQ), {@code retried} (pending again after
   * its backoff) or {@code cancelled}.
   */
  public void attemptEnded(String queue, String type, JobStatus became, Duration ran) {
    // The meters name what the attempt's end made of the job: pending again means a retry.
    String status = became == JobStatus.PENDING ? "retried" : became.wire();
    String description =
        switch (became) {
          case COMPLETED -> "jobs that ended completed";
          case FAILED -> "jobs that ended failed, into the dead-letter queue";
          case PENDING -> "failed attempts that will be retried";
          case CANCELLED -> "jobs that ended cancelled";
          case RUNNING ->
              throw new IllegalArgumentException("an attempt's end cannot leave its job running");
        };
    counter("spool.jobs." + status, description, queue, type).increment();
    String q = queueLabel(queue);
    String t = typeLabel(type);
    var timer =
        (Timer)
            meters.computeIfAbsent(
                "spool.job.duration\n" + q + "\n" + t + "\n" + status,
                key ->
                    Timer.builder("spool.job.duration")
                        .description("how long attempts ran, by what the job became")
                        .serviceLevelObjectives(DURATION_BUCKETS)
                        .tags("queue", q, "type", t, "status", status)
                        .register(registry));
    timer.record(ran);
  }

  /** Jobs the pruner deleted, past their retention, by the status they had ended with. */
  public void pruned(String status, int count) {
    Counter.builder("spool.jobs.pruned")
        .description("finished jobs deleted past their retention, with their records")
        .tag("status", status)
        .register(registry)
        .increment(count);
  }

  /**
   * A webhook POST: {@code delivered}, {@code retry} (will be tried again) or {@code failed} (given
   * up).
   */
  public void webhookDelivery(String outcome) {
    Counter.builder("spool.webhook.deliveries")
        .description("webhook POSTs by outcome")
        .tag("outcome", outcome)
        .register(registry)
        .increment();
  }

  /**
   * Client connections the gateway closed because of how the client behaved, or that the client
   * dropped with a request half sent; {@code reason} is one of a few fixed words, never client
   * input.
   */
  public Counter connectionsClosed(String reason) {
    return Counter.builder("spool.http.connections.closed")
        .description(
            "client connections closed by a timeout, an unreadable or oversized request, or the client mid-request")
        .tag("reason", reason)
        .register(registry);
  }

  /**
   * Records the size of each batch a group commit writes or reads ({@code batch} names which:
   * insert, finish, read): whether batching coalesces under load shows here, not only in a bench.
   * One record per statement, not per job.
   */
  public IntConsumer batchSizes(String batch) {
    DistributionSummary sizes =
        DistributionSummary.builder("spool.batch.size")
            .description("rows (or ids) per batched statement")
            .baseUnit("rows")
            .tag("batch", batch)
            .serviceLevelObjectives(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 2000)
            .register(registry);
    return sizes::record;
  }

  /**
   * The queue's own name, or {@code other} once this process has seen {@link #MAX_LABEL_VALUES}
   * queues.
   */
  String queueLabel(String queue) {
    return bounded(queues, queue);
  }

  private String typeLabel(String type) {
    return bounded(types, type);
  }

  private static String bounded(Set<String> seen, String value) {
    if (seen.contains(value)) {
      return value;
    }
    synchronized (seen) {
      if (seen.size() < MAX_LABEL_VALUES) {
        seen.add(value);
        return value;
      }
    }
    return OTHER;
  }

  private Counter counter(String name, String description, String queue, String type) {
    String q = queueLabel(queue);
    String t = typeLabel(type);
    return (Counter)
        meters.computeIfAbsent(
            name + "\n" + q + "\n" + t,
            key ->
                Counter.builder(name)
                    .description(description)
                    .tags("queue", q, "type", t)
                    .register(registry));
  }

  private static Duration[] seconds(double... values) {
    var durations = new Duration[values.length];
    for (int i = 0; i < values.length; i++) {
      durations[i] = Duration.ofNanos((long) (values[i] * 1e9));
    }
    return durations;
  }
}
