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
 * Test job type {@code record}: appends "job-id attempt" to the file in {@code SPOOL_TEST_RUN_LOG}
 * (one file per worker process), so a test can count how often each job really ran; result is
 * {@code {"n": request.n * 2}}.
 */
public final class RecordingHandler implements JobHandler {
  @Override
  public String type() {
    return "record";
  }

  @Override
  public JsonNode run(JobContext context) throws IOException {
    String file = System.getenv("SPOOL_TEST_RUN_LOG");
    if (file != null) {
      synchronized (RecordingHandler.class) {
        Files.writeString(
            Path.of(file),
            context.job().id() + " " + context.attempt() + "\n",
            StandardCharsets.UTF_8,
            StandardOpenOption.CREATE,
            StandardOpenOption.APPEND);
      }
    }
    return JobJson.MAPPER.createObjectNode().put("n", context.request().path("n").asLong() * 2);
  }
}
