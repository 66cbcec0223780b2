package io.spool.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.spool.model.JobJson;
import java.util.Locale;
import org.HdrHistogram.Histogram;

/** The figures of a run: a readable summary, and one JSON line for machines. */
record BenchResult(BenchOptions options, int rejected, int completed, int failed, int checks,
    double seconds, Histogram startLatencyMicros, Histogram endLatencyMicros, Histogram submitMicros, String lastError) {

  boolean clean() {
    return rejected == 0 && failed == 0 && completed == options.jobs();
  }

  double jobsPerSec() {
    return completed / seconds;
  }

  String summary() {
    return String.format(Locale.ROOT, """
        Spool bench: %d %s jobs, concurrency %d, %s
          completed %d, failed %d, rejected %d, in %.2f s: %.0f jobs/s end to end (%d status checks)
          submit round trip ms   %s
          start latency ms       %s   (submitted -> started, server clocks)
          end latency ms         %s   (submitted -> finished)%s""",
        options.jobs(), options.type(), options.concurrency(),
        options.rate() > 0 ? "rate " + options.rate() + "/s" : "no rate limit",
        completed, failed, rejected, seconds, jobsPerSec(), checks,
        line(submitMicros), line(startLatencyMicros), line(endLatencyMicros),
        lastError == null ? "" : "\n  last error: " + lastError);
  }

  String json() {
    ObjectNode json = JobJson.MAPPER.createObjectNode()
        .put("jobs", options.jobs())
        .put("type", options.type())
        .put("concurrency", options.concurrency())
        .put("rate", options.rate())
        .put("completed", completed)
        .put("failed", failed)
        .put("rejected", rejected)
        .put("seconds", round(seconds))
        .put("jobs_per_sec", round(jobsPerSec()));
    json.set("submit_latency_ms", percentiles(submitMicros));
    json.set("start_latency_ms", percentiles(startLatencyMicros));
    json.set("end_latency_ms", percentiles(endLatencyMicros));
    return JobJson.encode(json);
  }

  static ObjectNode percentiles(Histogram micros) {
    return JobJson.MAPPER.createObjectNode()
        .put("p50", ms(micros.getValueAtPercentile(50)))
        .put("p90", ms(micros.getValueAtPercentile(90)))
        .put("p99", ms(micros.getValueAtPercentile(99)))
        .put("max", ms(micros.getMaxValue()));
  }

  static String line(Histogram micros) {
    return String.format(Locale.ROOT, "p50 %8.2f  p90 %8.2f  p99 %8.2f  max %8.2f",
        ms(micros.getValueAtPercentile(50)), ms(micros.getValueAtPercentile(90)),
        ms(micros.getValueAtPercentile(99)), ms(micros.getMaxValue()));
  }

  private static double ms(long micros) {
    return round(micros / 1000.0);
  }

  static double round(double value) {
    return Math.round(value * 100) / 100.0;
  }
}
