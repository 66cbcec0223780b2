package io.spool.worker;

import io.micrometer.core.instrument.Counter;
import io.spool.ops.QueueStats;
import io.spool.ops.QueueStatsSampler;
import io.spool.ops.SpoolMetrics;
import java.util.HashMap;
import java.util.Map;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs one {@code stats} line every {@code SPOOL_STATS_INTERVAL_SECS}: this worker's attempts in
 * flight, what its attempts became since the last line and how many finished jobs it pruned, and
 * the queues' lag, pending jobs and dead letters (over all workers). The figures are key-value
 * pairs: fields of their own with {@code SPOOL_LOG_FORMAT=json}, {@code key=value} after the
 * message in text.
 */
final class StatsReporter {
  private static final Logger log = LoggerFactory.getLogger("io.spool.stats");

  /** The {@code spool.jobs.*} counters whose growth since the last line it reports. */
  private static final String[] COUNTED = {"completed", "failed", "retried", "cancelled", "pruned"};

  private final SpoolMetrics metrics;
  private final QueueStatsSampler queues;
  private final IntSupplier inFlight;
  private final int slots;
  private final Map<String, Double> reported = new HashMap<>();

  StatsReporter(SpoolMetrics metrics, QueueStatsSampler queues, IntSupplier inFlight, int slots) {
    this.metrics = metrics;
    this.queues = queues;
    this.inFlight = inFlight;
    this.slots = slots;
  }

  /** Logs the line; called on one thread at a time (a Vert.x timer). */
  void report() {
    var line =
        log.atInfo().addKeyValue("in_flight", inFlight.getAsInt()).addKeyValue("slots", slots);
    for (String counted : COUNTED) {
      double total =
          metrics.registry().find("spool.jobs." + counted).counters().stream()
              .mapToDouble(Counter::count)
              .sum();
      line = line.addKeyValue(counted, Math.round(total - reported.getOrDefault(counted, 0.0)));
      reported.put(counted, total);
    }
    QueueStats stats = queues.latest();
    if (stats.sampled()) {
      line =
          line.addKeyValue("lag", stats.lag())
              .addKeyValue("pending", stats.pending())
              .addKeyValue("dlq", stats.deadLetters())
              .addKeyValue("workers", stats.workersAlive());
    }
    line.log("stats");
  }
}
