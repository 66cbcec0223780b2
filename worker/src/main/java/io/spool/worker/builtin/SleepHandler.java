package io.spool.worker.builtin;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.handler.JobContext;
import io.spool.handler.JobHandler;
import io.spool.model.JobJson;

/**
 * {@code sleep}: {@code {"ms": N, "steps": K}} sleeps N milliseconds in K equal steps (default 1);
 * the result is {@code {"slept_ms": N, "resumed_from": S}}. After each step it emits a {@code
 * progress} event {@code {"step": i, "of": K}} and checkpoints {@code {"steps_done": i}}, so a
 * retried attempt goes on after the last finished step; S is the number of steps it found done.
 * Models a long, mostly idle agent run.
 */
public final class SleepHandler implements JobHandler {
  static final long MAX_MS = 24L * 3600 * 1000;
  static final int MAX_STEPS = 100_000;

  @Override
  public String type() {
    return "sleep";
  }

  @Override
  public JsonNode run(JobContext context) throws InterruptedException {
    long ms = number(context.request(), "ms", 0, MAX_MS, 0);
    int steps = (int) number(context.request(), "steps", 1, MAX_STEPS, 1);
    JsonNode last = context.lastCheckpoint();
    int done = last == null ? 0 : Math.max(0, Math.min(steps, last.path("steps_done").asInt(0)));
    for (int step = done; step < steps; step++) {
      // Spread the remainder so the steps add up to exactly ms.
      long slice = ms * (step + 1) / steps - ms * step / steps;
      Thread.sleep(slice);
      context.emit(
          "progress", JobJson.MAPPER.createObjectNode().put("step", step + 1).put("of", steps));
      context.checkpoint(JobJson.MAPPER.createObjectNode().put("steps_done", step + 1));
    }
    return JobJson.MAPPER.createObjectNode().put("slept_ms", ms).put("resumed_from", done);
  }

  static long number(JsonNode request, String field, long min, long max, long fallback) {
    JsonNode value = request.get(field);
    if (value == null || value.isNull()) {
      return fallback;
    }
    if (!value.isIntegralNumber()
        || !value.canConvertToLong()
        || value.asLong() < min
        || value.asLong() > max) {
      throw new IllegalArgumentException(
          "'" + field + "' must be a whole number from " + min + " to " + max);
    }
    return value.asLong();
  }
}
