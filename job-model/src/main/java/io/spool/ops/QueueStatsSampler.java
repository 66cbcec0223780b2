package io.spool.ops;

import io.micrometer.core.instrument.Gauge;
import io.spool.config.SpoolConfig;
import io.spool.signal.Keys;
import io.spool.signal.RedisScript;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Response;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.templates.SqlTemplate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.ToDoubleFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the queues' figures ({@link QueueStats}) every {@code SPOOL_QUEUE_STATS_SECS}: one Postgres
 * query on the partial indexes and one Redis script for the streams' lag. Gateways and workers each
 * sample; the gauges it registers therefore say the same in every process, and alert rules take
 * their {@code max by (queue)}.
 */
public final class QueueStatsSampler {
  private static final Logger log = LoggerFactory.getLogger(QueueStatsSampler.class);
  private static final long TIMEOUT_MILLIS = 5000;

  /**
   * Pending (with the oldest due), running and dead-lettered jobs per queue, and the live workers:
   * each part counts on its partial index. {@code secs}: the visibility timeout in seconds.
   */
  static final String FIGURES =
      """
      SELECT 'pending' AS kind, queue, count(*) AS n, min(run_at) FILTER (WHERE run_at <= now()) AS oldest
        FROM jobs WHERE status = 'pending' GROUP BY queue
      UNION ALL
      SELECT 'running', queue, count(*), NULL::timestamptz FROM jobs WHERE status = 'running' GROUP BY queue
      UNION ALL
      SELECT 'dead', queue, count(*), NULL::timestamptz FROM jobs
        WHERE status = 'failed' AND discarded_at IS NULL GROUP BY queue
      UNION ALL
      SELECT 'workers', NULL, count(*), NULL::timestamptz FROM workers
        WHERE heartbeat_at > now() - make_interval(secs => #{secs})""";

  /**
   * The consumer group's lag of each stream in KEYS. Redis 7 reports it; where it cannot (nil), or
   * on an older Redis, the stream's length less the entries delivered but not acknowledged is the
   * same number, as workers delete the entries they acknowledge. A stream without the group: all of
   * it.
   */
  private static final RedisScript LAG =
      new RedisScript(
          """
      local lags = {}
      for i, key in ipairs(KEYS) do
        local lag = 0
        if redis.call('EXISTS', key) == 1 then
          lag = redis.call('XLEN', key)
          for _, group in ipairs(redis.call('XINFO', 'GROUPS', key)) do
            local fields = {}
            for j = 1, #group, 2 do fields[group[j]] = group[j + 1] end
            if fields['name'] == ARGV[1] then
              if type(fields['lag']) == 'number' then
                lag = fields['lag']
              else
                lag = math.max(0, lag - fields['pending'])
              end
            end
          end
        end
        lags[i] = lag
      end
      return lags""");

  private final SqlClient pg;
  private final Redis redis;
  private final Keys keys;
  private final List<String> servedQueues;
  private final long visibilitySecs;
  private final SpoolMetrics metrics;
  private final Set<String> gauged = ConcurrentHashMap.newKeySet();
  private volatile QueueStats latest = QueueStats.NONE;

  /**
   * The read under way, which every caller joins, or null: one read at a time, however many ask.
   */
  private final AtomicReference<Future<QueueStats>> reading = new AtomicReference<>();

  private QueueStatsSampler(SqlClient pg, Redis redis, SpoolConfig config, SpoolMetrics metrics) {
    this.pg = pg;
    this.redis = redis;
    this.keys = config.keys();
    this.servedQueues = config.worker().queues();
    this.visibilitySecs = config.worker().visibilityTimeout().toSeconds();
    this.metrics = metrics;
  }

  /** Samples now and then every {@code SPOOL_QUEUE_STATS_SECS}, registering the queue gauges. */
  public static QueueStatsSampler start(
      Vertx vertx, SqlClient pg, Redis redis, SpoolConfig config, SpoolMetrics metrics) {
    var sampler = new QueueStatsSampler(pg, redis, config, metrics);
    Gauge.builder("spool.workers.alive", sampler, s -> s.latest.workersAlive())
        .description("workers whose heartbeat is younger than the visibility timeout")
        .register(metrics.registry());
    vertx.setPeriodic(0, config.ops().queueStatsInterval().toMillis(), id -> sampler.sample());
    return sampler;
  }

  /** The last sample ({@link QueueStats#sampled()} is false before the first). */
  public QueueStats latest() {
    return latest;
  }

  /**
   * The figures at most {@code maxAge} old: the last sample if it is that young, else a new read
   * (joined by every concurrent caller, so at most one read per {@code maxAge} however many ask).
   * If the read fails, the last sample, however old ({@link QueueStats#sampled()} false if there is
   * none).
   */
  public Future<QueueStats> recent(Duration maxAge) {
    QueueStats last = latest;
    if (last.sampled() && last.sampledAt().isAfter(Instant.now().minus(maxAge))) {
      return Future.succeededFuture(last);
    }
    return sample().otherwise(e -> latest);
  }

  /**
   * Reads the figures now, or joins the read under way; on failure the last sample stands (gauges
   * do not drop to zero in an outage). Callbacks run on the context that started the read.
   */
  public Future<QueueStats> sample() {
    while (true) {
      var underWay = reading.get();
      if (underWay != null) {
        return underWay;
      }
      Promise<QueueStats> read = Promise.promise();
      if (reading.compareAndSet(null, read.future())) {
        // Cleared only once latest holds the result, so a caller who finds no read under way finds
        // it there.
        read()
            .onComplete(
                done -> {
                  reading.set(null);
                  read.handle(done);
                });
        return read.future();
      }
    }
  }

  private Future<QueueStats> read() {
    return SqlTemplate.forQuery(pg, FIGURES)
        .execute(Map.of("secs", visibilitySecs))
        .timeout(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)
        .compose(
            rows -> {
              var counts = new TreeMap<String, long[]>();
              var oldest = new TreeMap<String, Instant>();
              long workers = 0;
              for (Row row : rows) {
                String kind = row.getString("kind");
                if (kind.equals("workers")) {
                  workers = row.getLong("n");
                  continue;
                }
                String queue = row.getString("queue");
                long[] figures = counts.computeIfAbsent(queue, q -> new long[3]);
                figures[
                        switch (kind) {
                          case "pending" -> 0;
                          case "running" -> 1;
                          default -> 2;
                        }] =
                    row.getLong("n");
                if (row.getOffsetDateTime("oldest") != null) {
                  oldest.put(queue, row.getOffsetDateTime("oldest").toInstant());
                }
              }
              servedQueues.forEach(q -> counts.computeIfAbsent(q, x -> new long[3]));
              long workersAlive = workers;
              return lags(new ArrayList<>(counts.keySet()))
                  .map(
                      lags -> {
                        var queues = new TreeMap<String, QueueStats.Queue>();
                        counts.forEach(
                            (queue, f) ->
                                queues.put(
                                    queue,
                                    new QueueStats.Queue(
                                        f[0],
                                        f[1],
                                        lags == null ? null : lags.get(queue),
                                        oldest.get(queue),
                                        f[2])));
                        return new QueueStats(
                            Instant.now(),
                            Collections.unmodifiableMap(queues),
                            workersAlive,
                            lags != null);
                      });
            })
        .onSuccess(
            stats -> {
              latest = stats;
              stats.queues().keySet().forEach(this::gauge);
            })
        .onFailure(
            e -> log.debug("sampling the queues failed; the last figures stand: {}", e.toString()));
  }

  /** Lag per queue, or null if Redis did not answer. */
  private Future<Map<String, Long>> lags(List<String> queues) {
    var streams = new ArrayList<String>();
    queues.forEach(q -> streams.addAll(keys.queueStreams(q)));
    var call = LAG.call().arg(streams.size());
    streams.forEach(call::arg);
    call.arg(Keys.GROUP);
    return LAG.run(redis, call)
        .timeout(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)
        .map(
            reply -> {
              var lags = new TreeMap<String, Long>();
              int bands = streams.size() / Math.max(1, queues.size());
              for (int i = 0; i < queues.size(); i++) {
                long sum = 0;
                for (int b = 0; b < bands; b++) {
                  Response lag = reply.get(i * bands + b);
                  sum += lag == null ? 0 : lag.toLong();
                }
                lags.put(queues.get(i), sum);
              }
              return (Map<String, Long>) lags;
            })
        .otherwise(
            e -> {
              log.debug("reading the streams' lag failed: {}", e.toString());
              return null;
            });
  }

  /**
   * Registers the gauges of a queue the first time it is seen, for at most {@link
   * SpoolMetrics#MAX_LABEL_VALUES} queues.
   */
  private void gauge(String queue) {
    if (gauged.contains(queue) || !metrics.queueLabel(queue).equals(queue) || !gauged.add(queue)) {
      return;
    }
    var registry = metrics.registry();
    gauge("spool.queue.pending.jobs", "jobs waiting, due or not", queue, QueueStats.Queue::pending);
    gauge("spool.jobs.running", "jobs being run", queue, QueueStats.Queue::running);
    gauge(
        "spool.dlq.jobs",
        "failed jobs in the dead-letter queue (not discarded)",
        queue,
        QueueStats.Queue::deadLetters);
    gauge(
        "spool.queue.lag.entries",
        "signals in the queue's streams no worker has read yet (consumer-group lag)",
        queue,
        q -> q.lag() == null ? Double.NaN : q.lag());
    Gauge.builder(
            "spool.queue.oldest.pending.timestamp",
            this,
            s -> {
              var figures = s.latest.queues().get(queue);
              return figures == null || figures.oldestDueAt() == null
                  ? Double.NaN
                  : figures.oldestDueAt().toEpochMilli() / 1000.0;
            })
        .description(
            "when the longest-waiting due job became due, as a Unix time (age = time() - this); NaN when none")
        .baseUnit("seconds")
        .tag("queue", queue)
        .register(registry);
  }

  private void gauge(
      String name, String description, String queue, ToDoubleFunction<QueueStats.Queue> figure) {
    Gauge.builder(
            name,
            this,
            s ->
                figure.applyAsDouble(s.latest.queues().getOrDefault(queue, QueueStats.Queue.EMPTY)))
        .description(description)
        .tag("queue", queue)
        .register(metrics.registry());
  }
}
