package io.spool.worker;

import io.spool.model.Job;
import io.spool.model.JobStatus;
import io.spool.signal.JobEvents;
import io.spool.signal.JobEvents.NewEvent;
import io.spool.signal.Keys;
import io.spool.signal.QueueSignals;
import io.spool.signal.QueueSignals.Signal;
import io.spool.store.ClaimSql;
import io.spool.store.JobRows;
import io.spool.worker.StreamEntries.Entry;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.templates.SqlTemplate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads job signals from the queue streams through the consumer group, claims the jobs in Postgres
 * (one statement per read), acknowledges the signals and hands the jobs to idle slots. Runs on a
 * virtual thread and reads top to bottom; the blocking XREADGROUP has a Redis connection of its
 * own, the only one it holds whatever the concurrency.
 *
 * <p>Every half visibility timeout (or when a NOTIFY says a job went unsignalled) it takes over
 * signals another worker read but never claimed (XAUTOCLAIM) and makes one claim straight from
 * Postgres, so no job waits on a lost signal for long. When Redis fails it claims only from
 * Postgres (design note 5 in docs/architecture.md), probing Redis every two seconds; when Redis is
 * back, or has lost its data, every pending job is signalled again.
 */
final class StreamFetcher extends VerticleBase {
  private static final Logger log = LoggerFactory.getLogger(StreamFetcher.class);

  /** Most entries one read takes. */
  private static final int MAX_BATCH = 256;

  /** How long one XREADGROUP waits for a signal before it is sent again. */
  private static final int BLOCK_MILLIS = 2000;

  private static final long RETRY_MILLIS = 1000;

  /** A signal that came too early goes back to the delayed set for at least this long. */
  private static final long MIN_REDELAY_MILLIS = 20;

  /** While Redis is down, how often it is asked whether it is back. */
  private static final long REDIS_PROBE_NANOS = 2_000_000_000L;

  private final Redis blockingRedis;
  private final Redis redis;
  private final SqlClient pg;

  /** The queues' streams, highest priority band first. */
  private final List<String> allStreams;

  private final QueueSignals signals;
  private final String workerId;
  private final JobDispatcher dispatcher;
  private final StreamAcks acks;
  private final long visibilityMillis;
  private final PostgresClaimer postgres;
  private final Reconciler reconciler;
  private final JobEvents events;
  private volatile boolean stopping;
  private boolean redisDown;
  private RedisConnection connection;
  private long nextSafetyNetNanos;
  private long nextRedisProbeNanos;

  StreamFetcher(
      Redis blockingRedis,
      Redis redis,
      SqlClient pg,
      Keys keys,
      List<String> queues,
      String workerId,
      JobDispatcher dispatcher,
      StreamAcks acks,
      Duration visibilityTimeout,
      QueueSignals signals,
      PostgresClaimer postgres,
      Reconciler reconciler,
      JobEvents events) {
    this.blockingRedis = blockingRedis;
    this.redis = redis;
    this.pg = pg;
    this.allStreams =
        java.util.stream.Stream.of(1, 0, -1)
            .flatMap(band -> queues.stream().map(q -> keys.queueStream(q, band)))
            .toList();
    this.signals = signals;
    this.postgres = postgres;
    this.reconciler = reconciler;
    this.events = events;
    this.workerId = workerId;
    this.dispatcher = dispatcher;
    this.acks = acks;
    this.visibilityMillis = visibilityTimeout.toMillis();
  }

  @Override
  public Future<?> start() {
    context.runOnContext(v -> fetchUntilStopped());
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    return blockingRedis.close();
  }

  private void fetchUntilStopped() {
    while (!stopping) {
      try {
        if (redisDown) {
          claimFromPostgres();
        } else {
          fetchFromStreams();
        }
      } catch (RedisUnavailable e) {
        if (stopping) {
          return;
        }
        redisDown = true;
        nextRedisProbeNanos = System.nanoTime() + REDIS_PROBE_NANOS;
        dropConnection();
        log.warn(
            "Redis unavailable ({}); claiming straight from Postgres until it is back",
            e.getCause().toString());
      } catch (VirtualMachineError e) {
        throw e;
      } catch (Throwable e) { // the Redis client's errors are Throwables, not Exceptions
        if (stopping || e instanceof InterruptedException) {
          return;
        }
        log.warn("fetching failed, retrying in {} ms: {}", RETRY_MILLIS, e.toString());
        vertx.timer(RETRY_MILLIS).await();
      }
    }
  }

  /** Degraded mode: claim from Postgres, and look every few seconds whether Redis is back. */
  private void claimFromPostgres() {
    dispatcher.whenIdle().await();
    int wanted = Math.min(dispatcher.idle(), MAX_BATCH);
    postgres.arm();
    List<Job> jobs = postgres.claimNext(wanted);
    start(jobs);
    if (jobs.size() < wanted) {
      postgres.awaitWake();
    }
    if (System.nanoTime() - nextRedisProbeNanos >= 0) {
      nextRedisProbeNanos = System.nanoTime() + REDIS_PROBE_NANOS;
      try {
        redis.send(Request.cmd(Command.PING)).await();
      } catch (VirtualMachineError e) {
        throw e;
      } catch (Throwable e) {
        return;
      }
      redisDown = false;
      log.info("Redis is back; claiming from the streams again");
      // Jobs submitted meanwhile have no stream signal: give every pending job one.
      reconciler.reconcile("Redis was unavailable");
    }
  }

  private void fetchFromStreams() {
    dispatcher.whenIdle().await();
    int wanted = Math.min(dispatcher.idle(), MAX_BATCH);
    if (wanted == 0) {
      return;
    }
    // Only Redis calls inside: a failure here means Redis is unavailable, not Postgres.
    List<Entry> entries;
    boolean lostData = false;
    boolean safetyNet = false;
    try {
      if (connection == null) {
        connection = blockingRedis.connect().await();
        createGroups(redis, allStreams).await();
        lostData = reconciler.redisLostItsData();
      }
      if (System.nanoTime() - nextSafetyNetNanos >= 0 || postgres.takeWakeUp()) {
        nextSafetyNetNanos = System.nanoTime() + visibilityMillis * 500_000L;
        safetyNet = true;
        // Signals read by a worker that died before claiming.
        entries = takeOverAbandonedSignals(wanted);
      } else {
        entries = readByBand(wanted);
      }
    } catch (VirtualMachineError e) {
      throw e;
    } catch (Throwable e) {
      if (stopping || e instanceof InterruptedException) {
        throw e;
      }
      throw new RedisUnavailable(e);
    }
    if (lostData) {
      reconciler.reconcile("Redis had lost its data");
    }
    if (!entries.isEmpty()) {
      claim(entries, wanted);
    } else if (safetyNet) {
      // Jobs whose signal was lost (a gateway could not reach Redis) start now, not never.
      start(postgres.claimNext(wanted));
    }
  }

  /** A Redis call failed: time for the degraded mode. */
  private static final class RedisUnavailable extends RuntimeException {
    RedisUnavailable(Throwable cause) {
      super(cause);
    }
  }

  /**
   * Reads signals from every stream at once, waiting for the next if there are none: one round trip
   * however many queues and bands. The streams are listed highest band first, so {@link #claim}
   * takes high-priority signals first and puts back what it cannot start.
   */
  private List<Entry> readByBand(int wanted) {
    var entries = new ArrayList<>(StreamEntries.parse(connection.send(readGroup(wanted)).await()));
    // A RESP3 reply is a map: its streams come in no particular order. Highest band first again.
    entries.sort(Comparator.comparingInt(entry -> allStreams.indexOf(entry.stream())));
    return entries;
  }

  private Request readGroup(int count) {
    var read =
        Request.cmd(Command.XREADGROUP)
            .arg("GROUP")
            .arg(Keys.GROUP)
            .arg(workerId)
            .arg("COUNT")
            .arg(count)
            .arg("BLOCK")
            .arg(BLOCK_MILLIS)
            .arg("STREAMS");
    allStreams.forEach(read::arg);
    allStreams.forEach(stream -> read.arg(">"));
    return read;
  }

  /** XAUTOCLAIMs signals idle for the visibility timeout in any consumer's hands. */
  private List<Entry> takeOverAbandonedSignals(int wanted) {
    var found = new ArrayList<Entry>();
    for (String stream : allStreams) {
      found.addAll(
          StreamEntries.parseAutoclaim(
              stream,
              redis
                  .send(
                      Request.cmd(Command.XAUTOCLAIM)
                          .arg(stream)
                          .arg(Keys.GROUP)
                          .arg(workerId)
                          .arg(visibilityMillis)
                          .arg("0-0")
                          .arg("COUNT")
                          .arg(wanted))
                  .await()));
    }
    if (!found.isEmpty()) {
      log.info("took over {} signals that another worker read but never claimed", found.size());
    }
    return found;
  }

  /**
   * Claims, of the signalled jobs, as many as there are idle slots and dispatches them; signals
   * beyond that (a read over several streams may bring more) are put back on their streams for any
   * worker. Every signal read is then acknowledged: from a claim on, Postgres and the lease recover
   * the job. A signalled job that is still pending but could not be claimed (not due yet by
   * Postgres's clock, or locked by another claim) is signalled again, so no signal is lost here.
   */
  private void claim(List<Entry> entries, int wanted) {
    Set<UUID> ids = new LinkedHashSet<>();
    var putBack = new ArrayList<Request>();
    for (Entry entry : entries) {
      if (entry.jobId() == null || ids.contains(entry.jobId())) {
        continue;
      }
      if (ids.size() < wanted) {
        ids.add(entry.jobId());
      } else {
        putBack.add(
            Request.cmd(Command.XADD)
                .arg(entry.stream())
                .arg("*")
                .arg(Keys.FIELD_JOB_ID)
                .arg(entry.jobId().toString()));
      }
    }
    if (!putBack.isEmpty()) {
      redis.batch(putBack).await();
    }
    var claimed = new ArrayList<Job>(ids.size());
    for (Row row :
        SqlTemplate.forQuery(pg, ClaimSql.CLAIM)
            .execute(Map.of("ids", ids.toArray(UUID[]::new), "worker", workerId))
            .await()) {
      Job job = JobRows.toJob(row);
      claimed.add(job);
      ids.remove(job.id());
    }
    if (!ids.isEmpty()) {
      signalAgainIfPending(ids);
    }
    acks.ackAndDelete(entries)
        .onFailure(
            e -> log.warn("could not acknowledge {} signals: {}", entries.size(), e.toString()));
    start(claimed);
  }

  /** Announces the claimed attempts (status running) and hands them to slots. */
  private void start(List<Job> claimed) {
    if (claimed.isEmpty()) {
      return;
    }
    var running = new ArrayList<NewEvent>(claimed.size());
    claimed.forEach(
        job -> running.addAll(JobEvents.statusChange(job.id(), JobStatus.RUNNING, job.attempts())));
    events.emit(running).onFailure(e -> log.debug("status events dropped: {}", e.toString()));
    claimed.forEach(dispatcher::dispatch);
  }

  /**
   * Signals again the unclaimed jobs still pending: when Postgres says they are due, not earlier.
   */
  private void signalAgainIfPending(Set<UUID> unclaimed) {
    var again = new ArrayList<Signal>();
    for (Row row :
        SqlTemplate.forQuery(pg, ClaimSql.SELECT_PENDING_AMONG)
            .execute(Map.of("ids", unclaimed.toArray(UUID[]::new)))
            .await()) {
      long dueInMillis = row.getLong("due_in_ms");
      // Due later by Postgres's clock: delay by that much (at least a little), whatever this JVM's
      // clock says.
      Instant runAt =
          dueInMillis > 0
              ? Instant.now().plusMillis(Math.max(dueInMillis, MIN_REDELAY_MILLIS))
              : null;
      again.add(
          new Signal(row.getUUID("id"), row.getString("queue"), row.getInteger("priority"), runAt));
    }
    if (!again.isEmpty()) {
      signals.signal(again).await();
    }
  }

  private void dropConnection() {
    if (connection != null) {
      connection.close();
      connection = null;
    }
  }

  /** Creates the consumer group on each queue stream (and the stream), reading from the start. */
  static Future<Void> createGroups(Redis redis, List<String> streams) {
    var creates = new ArrayList<Future<?>>();
    for (String stream : streams) {
      creates.add(
          redis
              .send(
                  Request.cmd(Command.XGROUP)
                      .arg("CREATE")
                      .arg(stream)
                      .arg(Keys.GROUP)
                      .arg("0")
                      .arg("MKSTREAM"))
              .recover(
                  e ->
                      e.getMessage() != null && e.getMessage().startsWith("BUSYGROUP")
                          ? Future.succeededFuture()
                          : Future.failedFuture(e)));
    }
    return Future.all(creates).mapEmpty();
  }
}
