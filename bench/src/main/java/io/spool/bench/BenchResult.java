package io.spool.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.spool.model.JobJson;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.HdrHistogram.Histogram;

/** The figures of a run: a readable summary, and one JSON line for machines. */
record BenchResult(
    BenchOptions options,
    int rejected,
    int completed,
    int failed,
    int checks,
    double seconds,
    Histogram startLatencyMicros,
    Histogram endLatencyMicros,
    Histogram seenLatencyMicros,
    Histogram submitMicros,
    String lastError,
    Map<String, Double> cpuSeconds,
    Map<String, Double> jitSeconds) {

  /**
   * This result with the CPU seconds each process used between the two samples, and its JIT's
   * share.
   */
  BenchResult withCpu(ProcessCpu.Sample before, ProcessCpu.Sample after) {
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
        used(before.seconds(), after.seconds()),
        used(before.jitSeconds(), after.jitSeconds()));
  }

  private static Map<String, Double> used(Map<String, Double> before, Map<String, Double> after) {
    var used = new LinkedHashMap<String, Double>();
    after.forEach((name, seconds) -> used.put(name, seconds - before.getOrDefault(name, 0.0)));
    return used;
  }

  /**
   * Of {@link #cpuMillisPerThousandJobs}, what each JVM's JIT compiler threads used; only processes
   * where it was above zero. A large share means the JVMs were not warm yet: raise {@code
   * --warmup}.
   */
  Map<String, Double> jitMillisPerThousandJobs() {
    var perJob = new LinkedHashMap<String, Double>();
    jitSeconds.forEach(
        (name, seconds) -> {
          if (seconds > 0) {
            perJob.put(name, round(seconds * 1e6 / Math.max(1, completed)));
          }
        });
    return perJob;
  }

  /**
   * CPU milliseconds per 1,000 jobs (= microseconds per job) of each process, then "spool" (all but
   * the bench).
   */
  Map<String, Double> cpuMillisPerThousandJobs() {
    var perJob = new LinkedHashMap<String, Double>();
    double servers = 0;
    for (var entry : cpuSeconds.entrySet()) {
      double millis = entry.getValue() * 1e6 / Math.max(1, completed);
      perJob.put(entry.getKey(), round(millis));
      servers += entry.getKey().equals("bench") ? 0 : millis;
    }
    if (cpuSeconds.size() > 1) {
      perJob.put("all but bench", round(servers));
    }
    return perJob;
  }

  boolean clean() {
    return rejected == 0 && failed == 0 && completed == options.jobs();
  }

  double jobsPerSec() {
    return completed / seconds;
  }

  String summary() {
    return String.format(
        Locale.ROOT,
        """
        Spool bench: %d %s jobs, concurrency %d, %s, %s
          completed %d, failed %d, rejected %d, in %.2f s: %.0f jobs/s end to end (%d status checks)
          submit round trip ms   %s
          start latency ms       %s   (submitted -> started, server clocks)
          end latency ms         %s   (submitted -> finished)
          seen latency ms        %s   (finished -> the caller had it; this machine's clock)
          CPU ms per 1,000 jobs  %s%s%s""",
        options.jobs(),
        options.type(),
        options.concurrency(),
        options.rate() > 0 ? "rate " + options.rate() + "/s" : "no rate limit",
        options.waitSecs() > 0 ? "each caller long-polls its job" : "jobs' ends polled",
        completed,
        failed,
        rejected,
        seconds,
        jobsPerSec(),
        checks,
        line(submitMicros),
        line(startLatencyMicros),
        line(endLatencyMicros),
        line(seenLatencyMicros),
        cpuLine(),
        jitLine(),
        lastError == null ? "" : "\n  last error: " + lastError);
  }

  String json() {
    ObjectNode json =
        JobJson.MAPPER
            .createObjectNode()
            .put("jobs", options.jobs())
            .put("type", options.type())
            .put("concurrency", options.concurrency())
            .put("rate", options.rate())
            .put("wait_secs", options.waitSecs())
            .put("completed", completed)
            .put("failed", failed)
            .put("rejected", rejected)
            .put("seconds", round(seconds))
            .put("jobs_per_sec", round(jobsPerSec()));
    json.set("submit_latency_ms", percentiles(submitMicros));
    json.set("start_latency_ms", percentiles(startLatencyMicros));
    json.set("end_latency_ms", percentiles(endLatencyMicros));
    json.set("seen_latency_ms", percentiles(seenLatencyMicros));
    ObjectNode cpu = json.putObject("cpu_ms_per_1000_jobs");
    cpuMillisPerThousandJobs().forEach(cpu::put);
    ObjectNode jit = json.putObject("jit_ms_per_1000_jobs");
    jitMillisPerThousandJobs().forEach(jit::put);
    return JobJson.encode(json);
  }

  private String jitLine() {
    var jit = jitMillisPerThousandJobs();
    if (jit.isEmpty()) {
      return "";
    }
    var parts = new java.util.StringJoiner(", ", "\n  of which JIT compiling  ", "");
    jit.forEach((name, millis) -> parts.add(name + String.format(Locale.ROOT, " %.0f", millis)));
    return parts.toString();
  }

  private String cpuLine() {
    var line = new StringBuilder();
    cpuMillisPerThousandJobs()
        .forEach(
            (name, millis) ->
                line.append(line.isEmpty() ? "" : ", ")
                    .append(name)
                    .append(' ')
                    .append(String.format(Locale.ROOT, "%.0f", millis)));
    return line.toString();
  }

  static ObjectNode percentiles(Histogram micros) {
    return JobJson.MAPPER
        .createObjectNode()
        .put("p50", ms(micros.getValueAtPercentile(50)))
        .put("p90", ms(micros.getValueAtPercentile(90)))
        .put("p99", ms(micros.getValueAtPercentile(99)))
        .put("max", ms(micros.getMaxValue()));
  }

  static String line(Histogram micros) {
    return String.format(
        Locale.ROOT,
        "p50 %8.2f  p90 %8.2f  p99 %8.2f  max %8.2f",
        ms(micros.getValueAtPercentile(50)),
        ms(micros.getValueAtPercentile(90)),
        ms(micros.getValueAtPercentile(99)),
        ms(micros.getMaxValue()));
  }

  private static double ms(long micros) {
    return round(micros / 1000.0);
  }

  static double round(double value) {
    return Math.round(value * 100) / 100.0;
  }
}
