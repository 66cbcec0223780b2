package io.spool.model;

import com.fasterxml.jackson.databind.JsonNode;
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
 * The per-job event log (design note 8): a capped Redis stream per job, each event numbered by a
 * per-job counter and published on the job's channel as it is appended, so a client can subscribe
 * late or reconnect and resume. The log is kept for the retention after the job ends. It is a
 * convenience, never the truth: the final state always comes from Postgres.
 */
public final class JobEvents {
  /** Longest a log of a job that never ends is kept. */
  private static final long UNENDED_TTL_SECS = 7 * 24 * 3600;

  /**
   * Numbers, appends and publishes one event atomically. KEYS: log stream, counter. ARGV: channel,
   * the event JSON with the placeholder {@code "seq":0}, cap, ttl seconds. Returns the seq.
   */
  private static final String EMIT = """
      local seq = redis.call('INCR', KEYS[2])
      local event = string.gsub(ARGV[2], '"seq":0', '"seq":' .. seq, 1)
      redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'e', event)
      redis.call('PUBLISH', ARGV[1], event)
      redis.call('EXPIRE', KEYS[1], ARGV[4])
      redis.call('EXPIRE', KEYS[2], ARGV[4])
      return seq""";

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
    return new JobEvents(redis, config.keys(), config.eventRetention(), config.eventLogMax());
  }

  /** Appends the events, in order, in one pipeline. */
  public Future<Void> emit(Collection<NewEvent> events) {
    if (events.isEmpty()) {
      return Future.succeededFuture();
    }
    var requests = new ArrayList<Request>(events.size());
    String now = Instant.now().toString();
    for (NewEvent event : events) {
      var json = JobJson.MAPPER.createObjectNode()
          .put("job_id", event.jobId().toString())
          .put("seq", 0)
          .put("type", event.type())
          .put("attempt", event.attempt())
          .put("ts", now);
      json.set("data", event.data());
      long ttl = event.type().equals(JobEvent.END) ? retentionSecs : UNENDED_TTL_SECS;
      requests.add(Request.cmd(Command.EVAL).arg(EMIT).arg(2)
          .arg(keys.jobEvents(event.jobId())).arg(keys.jobEventSeq(event.jobId()))
          .arg(keys.jobEventChannel(event.jobId())).arg(JobJson.encode(json)).arg(maxPerJob).arg(ttl));
    }
    return redis.batch(requests).mapEmpty();
  }

  public Future<Void> emit(NewEvent event) {
    return emit(List.of(event));
  }

  /** A status change, followed by {@code end} if the job has ended. */
  public static List<NewEvent> statusChange(UUID jobId, JobStatus status, int attempt) {
    var data = JobJson.MAPPER.createObjectNode().put("status", status.wire());
    var status_ = new NewEvent(jobId, JobEvent.STATUS, attempt, data);
    return status.isFinished() ? List.of(status_, new NewEvent(jobId, JobEvent.END, attempt, null)) : List.of(status_);
  }

  /** The logged events after {@code afterSeq}, in order. */
  public Future<List<JobEvent>> since(UUID jobId, long afterSeq) {
    return redis.send(Request.cmd(Command.XRANGE).arg(keys.jobEvents(jobId)).arg("-").arg("+")).map(reply -> {
      var events = new ArrayList<JobEvent>();
      if (reply != null) {
        for (Response entry : reply) {
          JobEvent event = parse(entry.get(1).get(1).toString());
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
