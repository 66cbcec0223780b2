package io.spool.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.spool.handler.JobContext;
import io.spool.handler.JobHandler;
import io.spool.model.JobJson;

// The README's example job type, compiled and run by the tests so it cannot rot.
// tag::readme[]
/** {@code word-count}: {"documents": ["...", ...]} counts the words of each document in turn. */
public final class WordCountHandler implements JobHandler {
  @Override
  public String type() {
    return "word-count";
  }

  @Override
  public JsonNode run(JobContext context) throws Exception {
    // On a virtual thread of its own: blocking is fine.
    JsonNode documents = context.request().path("documents");
    // A retried attempt (after a crash, a timeout or a failure) goes on where the last one got to.
    JsonNode saved = context.lastCheckpoint();
    int next = saved == null ? 0 : saved.get("next").asInt();
    long words = saved == null ? 0 : saved.get("words").asLong();
    for (int i = next; i < documents.size(); i++) {
      words += documents.get(i).asText().split("\\s+").length; // the slow part of a real job
      ObjectNode progress = JobJson.MAPPER.createObjectNode().put("done", i + 1);
      context.emit("progress", progress.put("of", documents.size()));
      context.checkpoint(JobJson.MAPPER.createObjectNode().put("next", i + 1).put("words", words));
    }
    ObjectNode result = JobJson.MAPPER.createObjectNode().put("words", words);
    // At most once per job, whatever happens to its attempts;
    // the key lets the receiver spot a repeat.
    JsonNode receipt =
        context.once("report", key -> JobJson.MAPPER.createObjectNode().put("sent_with_key", key));
    return result.set("report", receipt);
  }
}
// end::readme[]
