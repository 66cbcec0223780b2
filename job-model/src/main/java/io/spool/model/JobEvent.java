package io.spool.model;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.UUID;

/**
 * One entry of a job's event log, as streamed to clients (snake_case on the wire).
 *
 * @param jobId the job
 * @param seq strictly increasing per job, from 1; what clients resume after
 * @param type {@code status} (data {@code {"status": ...}}), {@code progress} and {@code output}
 *     (from the handler), {@code checkpoint} (data: the state the handler saved), {@code end}
 *     (data: the final job, from Postgres)
 * @param attempt the attempt that emitted it (0 for the gateway's own)
 * @param ts when it was emitted
 * @param data the payload
 */
public record JobEvent(UUID jobId, long seq, String type, int attempt, Instant ts, JsonNode data) {
  public static final String STATUS = "status";
  public static final String PROGRESS = "progress";
  public static final String OUTPUT = "output";
  public static final String CHECKPOINT = "checkpoint";
  public static final String END = "end";

  @JsonIgnore // a helper, not a field on the wire
  public boolean isEnd() {
    return END.equals(type);
  }
}
