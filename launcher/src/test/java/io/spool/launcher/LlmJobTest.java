package io.spool.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.testing.Eventually;
import io.spool.testing.HttpJson;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The built-in {@code llm} job type against a stand-in OpenAI-compatible server. */
class LlmJobTest {
  private static final String API_KEY = "sk-test-0123456789abcdef";
  private static final String MESSAGES =
      "\"messages\":[{\"role\":\"user\",\"content\":\"Say something.\"}]";
  static InProcessSpool spool;
  static HttpJson http;
  static ModelServer model;
  static final HttpClient client = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws Exception {
    model = new ModelServer();
    spool =
        InProcessSpool.start(
            LlmJobTest.class,
            Map.of(
                "SPOOL_LLM_BASE_URL",
                model.baseUrl(),
                "SPOOL_LLM_API_KEY",
                API_KEY,
                "SPOOL_LLM_IDLE_TIMEOUT_SECS",
                "2"));
    http = spool.http;
  }

  @AfterAll
  static void stop() {
    spool.close();
    model.close();
  }

  private static EventStreamTest.Collector follow(String id) throws Exception {
    var collector = new EventStreamTest.Collector();
    client
        .newWebSocketBuilder()
        .buildAsync(
            URI.create(
                "ws://127.0.0.1:" + spool.config.gateway().port() + "/v1/jobs/" + id + "/ws"),
            collector)
        .get(10, TimeUnit.SECONDS);
    return collector;
  }

  private static String streamedText(EventStreamTest.Collector collector) {
    return collector.messages.stream()
        .filter(m -> m.get("type").asText().equals("output"))
        .map(m -> m.get("data").get("text").asText())
        .collect(Collectors.joining());
  }

  private static JsonNode awaitEnd(String id) {
    return spool.awaitEnd(id);
  }

  @Test
  void theStreamedDeltasMakeTheWholeTextInOrderAndTheReplyIsTheResult() throws Exception {
    String id =
        http.submit(
            "{\"type\":\"llm\",\"request\":{\"model\":\"fast\","
                + MESSAGES
                + ",\"temperature\":0.2}}");
    var collector = follow(id);
    collector.closed.get(30, TimeUnit.SECONDS);
    String expected = String.join("", ModelServer.FAST_TOKENS);
    assertEquals(expected, streamedText(collector), "every delta, in order, once");
    // Deltas that come within SPOOL_EVENT_COALESCE_MILLIS of a write share the next output event.
    long outputs =
        collector.messages.stream().filter(m -> m.get("type").asText().equals("output")).count();
    assertTrue(
        outputs >= 1 && outputs <= ModelServer.FAST_TOKENS.size(), outputs + " output events");
    JsonNode end = collector.messages.get(collector.messages.size() - 1);
    assertEquals("end", end.get("type").asText());
    JsonNode result = end.get("data").get("result");
    assertEquals(expected, result.get("text").asText());
    assertEquals("stop", result.get("finish_reason").asText());
    assertEquals(
        ModelServer.FAST_TOKENS.size(), result.get("usage").get("completion_tokens").asInt());
    assertEquals("fast", result.get("model").asText());

    var call =
        model.calls.stream()
            .filter(c -> c.body().path("model").asText().equals("fast"))
            .findFirst()
            .orElseThrow();
    assertEquals("Bearer " + API_KEY, call.authorization());
    assertTrue(call.body().get("stream").asBoolean());
    assertTrue(call.body().get("stream_options").get("include_usage").asBoolean());
    assertEquals(0.2, call.body().get("temperature").asDouble(), "other fields pass through");
    assertEquals("Say something.", call.body().get("messages").get(0).get("content").asText());
  }

  @Test
  void cancellingStopsTheUpstreamStreamAndKeepsThePartialText() throws Exception {
    String id = http.submit("{\"type\":\"llm\",\"request\":{\"model\":\"slow\"," + MESSAGES + "}}");
    var collector = follow(id);
    Eventually.await(
        "a few tokens streamed",
        Duration.ofSeconds(20),
        () -> streamedText(collector).length() > 10);
    assertEquals(202, http.post("/v1/jobs/" + id + "/cancel", "").status());
    String sentBeforeAbort = model.abandoned.get(10, TimeUnit.SECONDS);
    String full = String.join("", ModelServer.slowTokens());
    assertTrue(
        sentBeforeAbort.length() < full.length() / 2,
        "the server stopped early: " + sentBeforeAbort.length());

    JsonNode job = awaitEnd(id);
    assertEquals("cancelled", job.get("status").asText(), job.toString());
    String kept = job.get("result").get("text").asText();
    assertTrue(job.get("result").get("partial").asBoolean(), job.toString());
    assertTrue(
        !kept.isEmpty() && sentBeforeAbort.startsWith(kept),
        "kept " + kept + " of " + sentBeforeAbort);
    assertEquals(1, job.get("attempts").asInt());
  }

  @Test
  void refusalByTheModelServerFailsTheJobWithItsWords() {
    String id =
        http.submit(
            "{\"type\":\"llm\",\"max_attempts\":1,\"request\":{\"model\":\"refuse\","
                + MESSAGES
                + "}}");
    JsonNode job = awaitEnd(id);
    assertEquals("failed", job.get("status").asText());
    assertTrue(
        job.get("error").asText().contains("answered 401 (invalid_request_error)"),
        job.get("error").asText());
    assertFalse(
        job.get("error").asText().contains("Incorrect API key"),
        "the provider's message (it may quote the key) is not copied");
    assertTrue(!job.get("error").asText().contains(API_KEY), "the key is not repeated");
  }

  @Test
  void aStreamThatBreaksOffFailsTheAttemptAndKeepsWhatCame() {
    String id =
        http.submit(
            "{\"type\":\"llm\",\"max_attempts\":1,\"request\":{\"model\":\"broken\","
                + MESSAGES
                + "}}");
    JsonNode job = awaitEnd(id);
    assertEquals("failed", job.get("status").asText(), job.toString());
    assertTrue(job.get("error").asText().contains("before [DONE]"), job.toString());
    assertEquals(String.join("", ModelServer.FAST_TOKENS), job.get("result").get("text").asText());
  }

  @Test
  void aStreamThatGoesSilentFailsAfterTheIdleTimeout() {
    String id =
        http.submit(
            "{\"type\":\"llm\",\"max_attempts\":1,\"request\":{\"model\":\"stall\","
                + MESSAGES
                + "}}");
    long start = System.nanoTime();
    JsonNode job = awaitEnd(id);
    assertEquals("failed", job.get("status").asText(), job.toString());
    assertTrue(
        Duration.ofNanos(System.nanoTime() - start).toSeconds() < 20,
        "given up on after the 2 s idle timeout, not the job's");
    assertEquals(String.join("", ModelServer.FAST_TOKENS), job.get("result").get("text").asText());
  }

  @Test
  void requestsWithoutMessagesOrNotStreamedAreRefusedAtSubmission() {
    for (var request :
        Map.of(
                "{\"model\":\"fast\"}",
                "request.messages",
                "{\"model\":\"fast\",\"messages\":[\"hi\"]}",
                "request.messages[0]",
                "{\"model\":\"fast\"," + MESSAGES + ",\"stream\":false}",
                "request.stream")
            .entrySet()) {
      var response =
          http.post("/v1/jobs", "{\"type\":\"llm\",\"request\":" + request.getKey() + "}");
      assertEquals(422, response.status(), response.raw().body());
      assertTrue(
          response.raw().body().contains("\"" + request.getValue() + "\""), response.raw().body());
    }
  }
}
