package io.spool.worker;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.handler.JobContext;
import io.spool.handler.JobHandler;
import io.spool.model.JobJson;

/** Test job type {@code nul}: returns a result Postgres cannot store (a string holding U+0000). */
public final class NulResultHandler implements JobHandler {
  @Override
  public String type() {
    return "nul";
  }

  @Override
  public JsonNode run(JobContext context) {
    return JobJson.MAPPER.createObjectNode().put("text", "before\u0000after");
  }
}
