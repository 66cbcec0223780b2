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
   * Pending (with the oldest due) and running jobs per queue and type, dead-lettered jobs per
   * queue, the live workers, and how many of them serve each queue and type: each part counts on
   * its partial index. {@code secs}: the visibility timeout in seconds.
   */
  static final String FIGURES =
      """
      SELECT 'pending' AS kind, queue, type, count(*) AS n,
             min(run_at) FILTER (WHERE run_at <= now()) AS oldest
        FROM jobs WHERE status = 'pending' GROUP BY queue, type
      UNION ALL
      SELECT 'running', queue, type, count(*), NULL::timestamptz FROM jobs
        WHERE status = 'running' GROUP BY queue, type
      UNION ALL
      SELECT 'dead', queue, NULL, count(*), NULL::timestamptz FROM jobs
        WHERE status = 'failed' AND discarded_at IS NULL GROUP BY queue
      UNION ALL
      SELECT 'workers', NULL, NULL, count(*), NULL::timestamptz FROM workers
        WHERE heartbeat_at > now() - make_interval(secs => #{secs})
      UNION ALL
      SELECT 'serving', q.queue, t.type, count(*), NULL::timestamptz
        FROM workers w, unnest(w.queues) AS q(queue), unnest(w.types) AS t(type)
        WHERE w.heartbeat_at > now() - make_interval(secs => #{secs}) GROUP BY q.queue, t.type""";

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
              var figures = new TreeMap<String, Figures>();
              long workers = 0;
              for (Row row : rows) {
                String kind = row.getString("kind");
                if (kind.equals("workers")) {
                  workers = row.getLong("n");
                  continue;
                }
                Figures queue = figures.computeIfAbsent(row.getString("queue"), q -> new Figures());
                long n = row.getLong("n");
                if (kind.equals("dead")) {
                  queue.deadLetters = n;
                  continue;
                }
                long[] type = queue.types.computeIfAbsent(row.getString("type"), t -> new long[3]);
                switch (kind) {
                  case "pending" -> {
                    type[0] = n;
                    queue.pending += n;
                    Instant oldest =
                        row.getOffsetDateTime("oldest") == null
                            ? null
                            : row.getOffsetDateTime("oldest").toInstant();
                    if (oldest != null && (queue.oldest == null || oldest.isBefore(queue.oldest))) {
                      queue.oldest = oldest;
                    }
                  }
                  case "running" -> {
                    type[1] = n;
                    queue.running += n;
                  }
                  default -> type[2] = n;
                }
              }
              servedQueues.forEach(q -> figures.computeIfAbsent(q, x -> new Figures()));
              long workersAlive = workers;
              return lags(figures)
                  .map(
                      lags -> {
                        var queues = new TreeMap<String, QueueStats.Queue>();
                        figures.forEach(
                            (queue, f) -> {
                              var types = new TreeMap<String, QueueStats.TypeFigures>();
                              f.types.forEach(
                                  (type, t) ->
                                      types.put(
                                          type, new QueueStats.TypeFigures(t[0], t[1], t[2])));
                              queues.put(
                                  queue,
                                  new QueueStats.Queue(
                                      f.pending,
                                      f.running,
                                      lags == null ? null : lags.getOrDefault(queue, 0L),
                                      f.oldest,
                                      f.deadLetters,
                                      Collections.unmodifiableMap(types)));
                            });
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

  /** One queue's figures as they are read. {@code types}: pending, running, serving workers. */
  private static final class Figures {
    long pending;
    long running;
    long deadLetters;
    Instant oldest;
    final Map<String, long[]> types = new TreeMap<>();
  }

  /**
   * Lag per queue, summed over the streams of each type it has jobs or workers of, or null if Redis
   * did not answer.
   */
  private Future<Map<String, Long>> lags(Map<String, Figures> figures) {
    var streams = new ArrayList<String>();
    var queueOfStream = new ArrayList<String>();
    figures.forEach(
        (queue, f) ->
            keys.queueStreams(List.of(queue), f.types.keySet())
                .forEach(
                    stream -> {
                      streams.add(stream);
                      queueOfStream.add(queue);
                    }));
    if (streams.isEmpty()) {
      return Future.succeededFuture(Map.of());
    }
    // One call per slot group (on a single Redis, one for all), each answering its streams' lags.
    List<List<String>> slots = keys.bySlot(streams);
    var calls = new ArrayList<RedisScript.Call>(slots.size());
    for (List<String> slot : slots) {
      var call = LAG.call().arg(slot.size());
      slot.forEach(call::arg);
      calls.add(call.arg(Keys.GROUP));
    }
    var queueOf = new java.util.HashMap<String, String>();
    for (int i = 0; i < streams.size(); i++) {
      queueOf.put(streams.get(i), queueOfStream.get(i));
    }
    return LAG.run(redis, calls, keys.cluster())
        .timeout(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)
        .map(
            replies -> {
              var lags = new TreeMap<String, Long>();
              for (int s = 0; s < slots.size(); s++) {
                List<String> slot = slots.get(s);
                Response reply = replies.get(s);
                for (int i = 0; i < slot.size(); i++) {
                  Response lag = reply.get(i);
                  lags.merge(queueOf.get(slot.get(i)), lag == null ? 0 : lag.toLong(), Long::sum);
                }
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
