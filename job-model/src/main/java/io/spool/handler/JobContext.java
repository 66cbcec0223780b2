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
}
