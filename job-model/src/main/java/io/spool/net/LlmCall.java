package io.spool.net;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.function.BiConsumer;

/**
 * The request of a built-in {@code llm} job: an OpenAI-style chat completion request, {@code
 * {"model", "messages", ...}}, passed through as given except that it is always streamed. Checked
 * by the gateway at submission and by the worker before it runs.
 */
public final class LlmCall {
  /** The job type. */
  public static final String TYPE = "llm";

  private LlmCall() {}

  /**
   * Checks what Spool relies on ({@code messages} is a non-empty array of objects; {@code stream},
   * if given, is true); every problem goes to {@code problem} as (field, message). The rest is the
   * model server's to judge.
   */
  public static void check(JsonNode request, BiConsumer<String, String> problem) {
    JsonNode messages = request.get("messages");
    if (messages == null || !messages.isArray() || messages.isEmpty()) {
      problem.accept(
          "messages", "is required: a non-empty array of {\"role\", \"content\"} objects");
    } else {
      for (int i = 0; i < messages.size(); i++) {
        if (!messages.get(i).isObject()) {
          problem.accept(
              "messages[" + i + "]",
              "must be an object like {\"role\": \"user\", \"content\": \"...\"}");
        }
      }
    }
    JsonNode stream = request.get("stream");
    if (stream != null && !stream.isNull() && !(stream.isBoolean() && stream.asBoolean())) {
      problem.accept("stream", "llm jobs always stream; leave it out or set it to true");
    }
  }

  /**
   * The body sent to {@code /chat/completions}: the request, streamed, with usage in the last
   * chunk.
   */
  public static ObjectNode streamingBody(JsonNode request) {
    ObjectNode body = ((ObjectNode) request).deepCopy();
    body.put("stream", true);
    if (!body.has("stream_options")) {
      body.putObject("stream_options").put("include_usage", true);
    }
    return body;
  }
}
