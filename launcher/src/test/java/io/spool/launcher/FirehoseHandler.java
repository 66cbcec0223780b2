package io.spool.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.handler.JobContext;
import io.spool.handler.JobHandler;
import io.spool.model.JobJson;

/**
 * Test job type {@code firehose}: emits {@code request.count} {@code output} events of {@code
 * request.size} characters each, {@code request.every_ms} apart, each text {@code "<index>:"}
 * padded with dots, and returns {@code {"text": everything}}: a stream fast and large enough to
 * back up a client that stops reading.
 */
public final class FirehoseHandler implements JobHandler {
  @Override
  public String type() {
    return "firehose";
  }

  @Override
  public JsonNode run(JobContext context) throws InterruptedException {
    int count = context.request().path("count").asInt(10);
    int size = context.request().path("size").asInt(100);
    long every = context.request().path("every_ms").asLong(10);
    var all = new StringBuilder();
    for (int i = 0; i < count; i++) {
      String text = chunk(i, size);
      all.append(text);
      context.emit("output", JobJson.MAPPER.createObjectNode().put("text", text));
      Thread.sleep(every);
    }
    return JobJson.MAPPER.createObjectNode().put("text", all.toString());
  }

  static String chunk(int index, int size) {
    var text = new StringBuilder(size).append(index).append(':');
    while (text.length() < size) {
      text.append('.');
    }
    return text.toString();
  }
}
