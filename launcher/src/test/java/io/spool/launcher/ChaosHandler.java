package io.spool.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.handler.JobContext;
import io.spool.handler.JobHandler;
import io.spool.model.JobJson;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Test job type {@code chaos}: a multi-step job, {@code {"ms": N, "steps": K, "n": x}}, that
 * appends "start|end job-id attempt pid epoch-millis" lines to {@code SPOOL_TEST_RUN_LOG}; result
 * {@code {"n": x}}.
 */
public final class ChaosHandler implements JobHandler {
  @Override
  public String type() {
    return "chaos";
  }

  @Override
  public JsonNode run(JobContext context) throws IOException, InterruptedException {
    log("start", context);
    long ms = context.request().path("ms").asLong();
    int steps = Math.max(1, context.request().path("steps").asInt(1));
    for (int i = 0; i < steps; i++) {
      Thread.sleep(ms / steps);
    }
    log("end", context);
    return JobJson.MAPPER.createObjectNode().put("n", context.request().path("n").asLong());
  }

  private static void log(String event, JobContext context) throws IOException {
    String file = System.getenv("SPOOL_TEST_RUN_LOG");
    if (file == null) {
      return;
    }
    String line =
        context.job().id()
            + " "
            + event
            + " "
            + context.attempt()
            + " "
            + ProcessHandle.current().pid()
            + " "
            + System.currentTimeMillis()
            + "\n";
    synchronized (ChaosHandler.class) {
      Files.writeString(
          Path.of(file),
          line,
          StandardCharsets.UTF_8,
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    }
  }
}
