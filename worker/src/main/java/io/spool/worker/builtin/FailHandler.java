package io.spool.worker.builtin;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.handler.JobContext;
import io.spool.handler.JobHandler;
import io.spool.handler.NonRetryableException;
import io.spool.model.JobJson;

/**
 * {@code fail}: {@code {"times": N}} fails the first N attempts, then completes with {@code
 * {"attempts": k}}; {@code {"times": -1}} always fails; with {@code "retry": false} a failure
 * dead-letters the job at once ({@link NonRetryableException}). For trying retries and the DLQ out.
 */
public final class FailHandler implements JobHandler {
  @Override
  public String type() {
    return "fail";
  }

  @Override
  public JsonNode run(JobContext context) {
    long times = SleepHandler.number(context.request(), "times", -1, 1000, 1);
    if ((times < 0 || context.attempt() <= times)
        && !context.request().path("retry").asBoolean(true)) {
      throw new NonRetryableException(
          "failing attempt " + context.attempt() + " as asked, without retries");
    }
    if (times < 0 || context.attempt() <= times) {
      throw new IllegalStateException(
          "failing attempt " + context.attempt() + " as asked (times=" + times + ")");
    }
    return JobJson.MAPPER.createObjectNode().put("attempts", context.attempt());
  }
}
