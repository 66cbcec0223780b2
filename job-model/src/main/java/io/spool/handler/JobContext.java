package io.spool.handler;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.model.Job;

/** What a running attempt sees of its job and of Spool. */
public interface JobContext {
  /** The job as claimed for this attempt. */
  Job job();

  /** The submitted request, a JSON object. */
  default JsonNode request() {
    return job().request();
  }

  /** This attempt's number, from 1. */
  default int attempt() {
    return job().attempts();
  }

  /**
   * Appends an event to the job's log, streamed live to clients watching the job: {@code progress}
   * (any JSON, e.g. {@code {"step": 3, "of": 10}}) or {@code output} (partial results, e.g.
   * {@code {"text": "..."}}). Waits until Redis has it; if Redis is away the event is dropped and the
   * job goes on.
   */
  void emit(String type, JsonNode data);
}
