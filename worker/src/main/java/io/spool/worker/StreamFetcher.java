package io.spool.worker;

import io.spool.model.Job;
import io.spool.model.JobStatus;
import io.spool.signal.JobEvents;
import io.spool.signal.JobEvents.NewEvent;
import io.spool.signal.Keys.Shard;
import io.spool.signal.SignalClaimer;
import io.spool.signal.StreamEntries.Entry;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker's one loop that decides where jobs come from, on a virtual thread, top to bottom:
 * while some slot is idle, read signals ({@link SignalReader}), claim what they name ({@link
 * SignalClaimer}) and hand the jobs to the slots. It claims only jobs of the types this worker
 * serves.
 *
 * <p>Every half visibility timeout (or when a NOTIFY says a job went unsignalled) it takes over
 * signals another worker read but never claimed and makes one claim straight from Postgres, so no
 * job waits on a lost signal for long. When Redis fails it switches to claiming only from Postgres
 * (design note 5 in docs/architecture.md), asking Redis every two seconds whether it is back; when
 * Redis is back, or has lost its data, every pending job is signalled again.
 */
final class StreamFetcher extends VerticleBase {
  private static final Logger log = LoggerFactory.getLogger(StreamFetcher.class);

  /** Most jobs one read or claim takes. */
  private static final int MAX_BATCH = 256;

  /** After an unexpected failure, how long before fetching again. */
  private static final Duration RETRY = Duration.ofSeconds(1);

  /** While Redis is down, how often it is asked whether it is back. */
  private static final Duration REDIS_PROBE = Duration.ofSeconds(2);

  /** Where jobs are claimed from now. */
  private enum Mode {
    /** Normal: signals from Redis Streams, claimed in Postgres. */
    STREAMS,
    /** Redis is unavailable: claimed straight from Postgres, woken by NOTIFY or a slow poll. */
    POSTGRES_ONLY
  }

  private final SignalReader reader;
  private final SignalClaimer claimer;
  private final PostgresClaimer postgresClaimer;
  private final Reconciler reconciler;
  private final JobDispatcher dispatcher;
  private final JobEvents events;

  /** For asking whether Redis is back. */
  private final Redis redis;

  private final Duration safetyNetInterval;

  /** This worker, as the claims name it, and the job types it serves. */
  private final String workerId;

  private final String[] types;

  private volatile boolean stopping;
  private Mode mode = Mode.STREAMS;
  private long nextSafetyNetNanos;
  private long nextRedisProbeNanos;

  StreamFetcher(
      SignalReader reader,
      SignalClaimer claimer,
      PostgresClaimer postgresClaimer,
      Reconciler reconciler,
      JobDispatcher dispatcher,
      JobEvents events,
      Redis redis,
      Duration visibilityTimeout,
      String workerId,
      List<String> types) {
    this.workerId = workerId;
    this.types = types.toArray(String[]::new);
    this.reader = reader;
    this.claimer = claimer;
    this.postgresClaimer = postgresClaimer;
    this.reconciler = reconciler;
    this.dispatcher = dispatcher;
    this.events = events;
    this.redis = redis;
    this.safetyNetInterval = visibilityTimeout.dividedBy(2);
  }

  @Override
  public Future<?> start() {
    context.runOnContext(v -> fetchUntilStopped());
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    return reader.close();
  }

  private void fetchUntilStopped() {
    while (!stopping) {
      try {
        switch (mode) {
          case STREAMS -> fetchFromStreams();
          case POSTGRES_ONLY -> claimFromPostgres();
        }
      } catch (RedisUnavailable e) {
        if (stopping) {
          return;
        }
        mode = Mode.POSTGRES_ONLY;
        nextRedisProbeNanos = System.nanoTime() + REDIS_PROBE.toNanos();
        reader.disconnect();
        log.warn(
            "Redis unavailable ({}); claiming straight from Postgres until it is back",
            e.getCause().toString());
      } catch (VirtualMachineError e) {
        throw e;
      } catch (Throwable e) { // the Redis client's errors are Throwables, not Exceptions
        if (stopping || e instanceof InterruptedException) {
          return;
        }
        log.warn("fetching failed, retrying in {} ms: {}", RETRY.toMillis(), e.toString());
        vertx.timer(RETRY.toMillis()).await();
      }
    }
  }

  /** Degraded mode: claim from Postgres, and look every few seconds whether Redis is back. */
  private void claimFromPostgres() {
    dispatcher.whenIdle().await();
    int wanted = Math.min(dispatcher.idle(), MAX_BATCH);
    postgresClaimer.arm();
    List<Job> jobs = postgresClaimer.claimNext(wanted);
    start(jobs);
    if (jobs.size() < wanted) {
      postgresClaimer.awaitWake();
    }
    if (System.nanoTime() - nextRedisProbeNanos >= 0) {
      nextRedisProbeNanos = System.nanoTime() + REDIS_PROBE.toNanos();
      try {
        redis.send(Request.cmd(Command.PING)).await();
      } catch (VirtualMachineError e) {
        throw e;
      } catch (Throwable e) {
        return;
      }
      mode = Mode.STREAMS;
      log.info("Redis is back; claiming from the streams again");
      // Jobs submitted meanwhile may have no stream signal: give every pending job of the shards
      // that could not be read one.
      reconciler.reconcile("Redis was unavailable", reader.takeFailed());
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
    List<Shard> lostData = List.of();
    boolean safetyNet = false;
    try {
      if (reader.connect()) {
        lostData = reconciler.lostTheirData(reader.shards());
      }
      if (System.nanoTime() - nextSafetyNetNanos >= 0 || postgresClaimer.takeWakeUp()) {
        nextSafetyNetNanos = System.nanoTime() + safetyNetInterval.toNanos();
        safetyNet = true;
        // Signals read by a worker that died before claiming.
        entries = reader.takeOverAbandoned(wanted);
      } else {
        entries = reader.read(wanted);
      }
    } catch (VirtualMachineError e) {
      throw e;
    } catch (Throwable e) {
      if (stopping || e instanceof InterruptedException) {
        throw e;
      }
      reader.failedAll(); // unless a shard's read failed first, which says where
      throw new RedisUnavailable(e);
    }
    if (!lostData.isEmpty()) {
      reconciler.reconcile("Redis had lost the data of these shards", lostData);
    }
    if (!entries.isEmpty()) {
      start(claimer.claim(entries, wanted, workerId, types).await());
    } else if (safetyNet) {
      // Jobs whose signal was lost (a gateway could not reach Redis) start now, not never.
      start(postgresClaimer.claimNext(wanted));
    }
  }

  /** A Redis call failed: time for the degraded mode. */
  private static final class RedisUnavailable extends RuntimeException {
    RedisUnavailable(Throwable cause) {
      super(cause);
    }
  }

  /** Announces the claimed attempts (status running) and hands them to slots. */
  private void start(List<Job> claimed) {
    if (claimed.isEmpty()) {
      return;
    }
    var running = new ArrayList<NewEvent>(claimed.size());
    claimed.forEach(
        job -> running.addAll(JobEvents.statusChange(job.id(), JobStatus.RUNNING, job.attempts())));
    // emit answers a failure, never throws: a claimed job no slot runs would stay running (this
    // worker's heartbeat keeps its lease) until the worker stops.
    events.emit(running).onFailure(e -> log.debug("status events dropped: {}", e.toString()));
    claimed.forEach(dispatcher::dispatch);
  }
}
