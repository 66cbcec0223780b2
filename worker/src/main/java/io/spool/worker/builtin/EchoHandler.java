package io.spool.worker.builtin;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.handler.JobContext;
import io.spool.handler.JobHandler;

/** {@code echo}: the result is the request. For trying Spool out and for benchmarks. */
public final class EchoHandler implements JobHandler {
  @Override
  public String type() {
    return "echo";
  }

  @Override
  public JsonNode run(JobContext context) {
    return context.request();
  }
}
