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
   * (any JSON, e.g. {@code {"step": 3, "of": 10}}) or {@code output} (partial results, e.g. {@code
   * {"text": "..."}}). Waits until Redis has it; if Redis is away the event is dropped and the job
   * goes on.
   */
  void emit(String type, JsonNode data);

  /**
   * Saves {@code state} (any JSON) as the job's checkpoint, durably in Postgres, and emits it as a
   * {@code checkpoint} event. A later attempt of the job (after a crash, a timeout or a failure)
   * finds it in {@link #lastCheckpoint()} and can go on from there instead of starting over. Throws
   * {@link AttemptLostException} if this attempt no longer holds the job.
   */
  void checkpoint(JsonNode state);

  /** The last checkpoint saved by any attempt of this job, or null if there is none. */
  default JsonNode lastCheckpoint() {
    return job().checkpoint();
  }

  /**
   * Runs a side effect at most once per job across all its attempts: the first attempt to get here
   * runs {@code effect} and records its result; later attempts get the recorded result back without
   * running it. {@code effect} receives a stable idempotency key ({@code <job id>:<name>}) to pass
   * to the outside service, which covers the moment between doing the effect and recording it (a
   * crash there makes the next attempt run it again, and the service should recognise the key).
   * Throws {@link AttemptLostException} if this attempt no longer holds the job.
   *
   * @param name names the side effect within the job, e.g. {@code "charge"} or {@code "send-email"}
   * @param effect does it; its result (JSON, may be null) is what later attempts get
   */
  JsonNode once(String name, SideEffect effect) throws Exception;

  /** A side effect for {@link #once}. */
  @FunctionalInterface
  interface SideEffect {
    JsonNode run(String idempotencyKey) throws Exception;
  }
}
