package io.spool.client;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.UUID;

/**
 * One entry of a job's event log.
 *
 * @param jobId the job
 * @param seq strictly increasing per job, from 1; what a follower resumes after
 * @param type {@code status} (data {@code {"status": ...}}), {@code progress} and {@code output}
 *     (from the handler), {@code checkpoint} (the state the handler saved), {@code end} (data: the
 *     final job)
 * @param attempt the attempt that emitted it (0 for the gateway's own)
 * @param ts when it was emitted (the emitter's clock)
 * @param data the payload, or null
 */
public record JobEvent(UUID jobId, long seq, String type, int attempt, Instant ts, JsonNode data) {
  public static final String STATUS = "status";
  public static final String PROGRESS = "progress";
  public static final String OUTPUT = "output";
  public static final String CHECKPOINT = "checkpoint";
  public static final String END = "end";

  public JobEvent {
    data = data == null || data.isNull() ? null : data;
  }

  /** The last event of a job: its data is the final job. */
  @JsonIgnore
  public boolean isEnd() {
    return END.equals(type);
  }
}
