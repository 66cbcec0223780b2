package io.spool.signal;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.config.SpoolConfig;
import io.spool.model.JobEvent;
import io.spool.model.JobJson;
import io.spool.model.JobStatus;
import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.UUID;

/**
 * The per-job event log (design note 8 in docs/architecture.md): a capped Redis list per job, each
 * event numbered by a per-job counter and published on the job's channel as it is appended, so a
 * client can subscribe late or reconnect and resume. The log is kept for the retention after the
 * job ends. It is a convenience, never the truth: the final state always comes from Postgres.
 */
public final class JobEvents {
  /** Longest a log of a job that never ends is kept. */
  private static final long UNENDED_TTL_SECS = 7 * 24 * 3600;

  /**
   * Numbers, appends and publishes events atomically, many per call. KEYS: per event its log list
   * and its counter. ARGV: the cap, the publish command (PUBLISH, or SPUBLISH on a cluster, where a
   * call covers one job: its channel shares its log's slot), then per event its channel, its JSON
   * with the placeholder {@code "seq":0}, and a ttl in seconds (0: leave the expiry as it is; above
   * 0 only for an {@code end}). A log's first event always sets one, so no log outlives its job by
   * more than a week.
   */
  private static final RedisScript EMIT =
      new RedisScript(
          """
      local a = 3
      local cap = tonumber(ARGV[1])
      for i = 1, #KEYS, 2 do
        local seq = redis.call('INCR', KEYS[i + 1])
        local event = string.gsub(ARGV[a + 1], '"seq":0', '"seq":' .. seq, 1)
        if redis.call('RPUSH', KEYS[i], event) > cap then redis.call('LTRIM', KEYS[i], -cap, -1) end
        redis.call(ARGV[2], ARGV[a], event)
        local ttl = tonumber(ARGV[a + 2])
        if seq == 1 and ttl == 0 then ttl = %d end
        if ttl > 0 then
          redis.call('EXPIRE', KEYS[i], ttl)
          redis.call('EXPIRE', KEYS[i + 1], ttl)
        end
        a = a + 3
      end
      return (#KEYS) / 2"""
              .formatted(UNENDED_TTL_SECS));

  /** Events per script call: a call runs atomically, so it is kept short. */
  private static final int EVENTS_PER_CALL = 100;

  private static final java.util.Map<JobStatus, JsonNode> STATUS_DATA =
      java.util.Arrays.stream(JobStatus.values())
          .collect(
              java.util.stream.Collectors.toUnmodifiableMap(
                  s -> s, s -> JobJson.MAPPER.createObjectNode().put("status", s.wire())));

  /**
   * An event's JSON from its parts, with {@code data} already encoded: built by hand because the
   * hot paths emit three per job and a gateway may send one end to thousands. Every part but data
   * is a UUID, a number, a fixed type name or an ISO instant, none of which needs escaping.
   */
  public static String wireJson(
      UUID jobId, long seq, String type, int attempt, String ts, String dataJson) {
    return "{\"job_id\":\""
        + jobId
        + "\",\"seq\":"
        + seq
        + ",\"type\":\""
        + type
        + "\",\"attempt\":"
        + attempt
        + ",\"ts\":\""
        + ts
        + "\",\"data\":"
        + dataJson
        + "}";
  }

  /** An event to append; {@code data} may be null. */
  public record NewEvent(UUID jobId, String type, int attempt, JsonNode data) {}

  private final Redis redis;
  private final Keys keys;
  private final long retentionSecs;
  private final int maxPerJob;

  public JobEvents(Redis redis, Keys keys, Duration retention, int maxPerJob) {
    this.redis = redis;
    this.keys = keys;
    this.retentionSecs = Math.max(1, retention.toSeconds());
    this.maxPerJob = maxPerJob;
  }

  public static JobEvents of(Redis redis, SpoolConfig config) {
    return new JobEvents(
        redis, config.keys(), config.events().retention(), config.events().logMax());
  }

  /**
   * A dead-lettered job is requeued: its log starts again, so a subscriber from the start does not
   * find the earlier run's {@code end} and stop there. The counter goes on (seqs keep rising, so a
   * client resuming after an earlier seq misses nothing new) and lives as long as a job that has
   * not ended, no longer the retention of one that has.
   */
  public Future<Void> restart(UUID jobId) {
    return Pipeline.send(
            redis,
            keys,
            List.of(
                Request.cmd(Command.DEL).arg(keys.jobEvents(jobId)),
                Request.cmd(Command.EXPIRE).arg(keys.jobEventSeq(jobId)).arg(UNENDED_TTL_SECS)))
        .mapEmpty();
  }

  /**
   * Appends the events, in order: a script call per hundred events (on a cluster, per job), all in
   * one pipeline; then announces on the ended channel, in one message, the jobs whose end was
   * written.
   */
  public Future<Void> emit(Collection<NewEvent> events) {
    if (events.isEmpty()) {
      return Future.succeededFuture();
    }
    try {
      return write(events);
    } catch (RuntimeException e) {
      // A failed future, never a throw: callers emit between a claim and its dispatch, or a
      // finish and its answer, and must go on whatever Redis does.
      return Future.failedFuture(e);
    }
  }

  private Future<Void> write(Collection<NewEvent> events) {
    var calls = new ArrayList<RedisScript.Call>();
    var ended = new StringBuilder();
    String now = Instant.now().toString();
    for (List<NewEvent> chunk : chunks(events)) {
      var call = EMIT.call().arg(chunk.size() * 2);
      chunk.forEach(
          event -> call.arg(keys.jobEvents(event.jobId())).arg(keys.jobEventSeq(event.jobId())));
      call.arg(maxPerJob).arg(keys.publishCommand());
      for (NewEvent event : chunk) {
        String json =
            wireJson(
                event.jobId(),
                0,
                event.type(),
                event.attempt(),
                now,
                event.data() == null ? "null" : JobJson.encode(event.data()));
        boolean end = event.type().equals(JobEvent.END);
        call.arg(keys.jobEventChannel(event.jobId())).arg(json).arg(end ? retentionSecs : 0);
        if (end) {
          ended.append(ended.isEmpty() ? "" : " ").append(event.jobId());
        }
      }
      calls.add(call);
    }
    Future<?> written = EMIT.run(redis, calls, keys.cluster());
    if (ended.isEmpty()) {
      return written.mapEmpty();
    }
    return written
        .compose(
            v ->
                redis.send(
                    Request.cmd(keys.publish()).arg(keys.endedChannel()).arg(ended.toString())))
        .mapEmpty();
  }

  /**
   * The script calls' shares of the events, in order: up to a hundred each; on a cluster, one job's
   * each (its keys share a slot, two jobs' may not).
   */
  private List<List<NewEvent>> chunks(Collection<NewEvent> events) {
    var chunks = new ArrayList<List<NewEvent>>();
    if (keys.cluster()) {
      var byJob = new java.util.LinkedHashMap<UUID, List<NewEvent>>();
      events.forEach(e -> byJob.computeIfAbsent(e.jobId(), id -> new ArrayList<>()).add(e));
      byJob.values().forEach(job -> chunkInto(chunks, job));
    } else {
      chunkInto(chunks, List.copyOf(events));
    }
    return chunks;
  }

  private static void chunkInto(List<List<NewEvent>> chunks, List<NewEvent> events) {
    for (int from = 0; from < events.size(); from += EVENTS_PER_CALL) {
      chunks.add(events.subList(from, Math.min(events.size(), from + EVENTS_PER_CALL)));
    }
  }

  public Future<Void> emit(NewEvent event) {
    return emit(List.of(event));
  }

  /** A status change, followed by {@code end} if the job has ended. */
  public static List<NewEvent> statusChange(UUID jobId, JobStatus status, int attempt) {
    JsonNode data = STATUS_DATA.get(status);
    var status_ = new NewEvent(jobId, JobEvent.STATUS, attempt, data);
    return status.isFinished()
        ? List.of(status_, new NewEvent(jobId, JobEvent.END, attempt, null))
        : List.of(status_);
  }

  /** The logged events after {@code afterSeq}, in order. */
  public Future<List<JobEvent>> since(UUID jobId, long afterSeq) {
    return redis
        .send(Request.cmd(Command.LRANGE).arg(keys.jobEvents(jobId)).arg(0).arg(-1))
        .map(
            reply -> {
              var events = new ArrayList<JobEvent>();
              if (reply != null) {
                for (Response entry : reply) {
                  JobEvent event = parse(entry.toString());
                  if (event.seq() > afterSeq) {
                    events.add(event);
                  }
                }
              }
              return events;
            });
  }

  public static JobEvent parse(String json) {
    return JobJson.decode(json, JobEvent.class);
  }
}
