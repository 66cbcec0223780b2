package io.spool.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.launcher.InProcessSpool;
import io.spool.testing.ReadmeSnippet;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The README's examples are compiled code: it shows them as compiled, and the example job type runs
 * on a real worker (the client example runs in {@code ClientTest}).
 */
class ReadmeExamplesTest {
  private static final Path README = Path.of("..", "README.md");

  @Test
  void readmeShowsTheCompiledExampleHandler() throws Exception {
    assertEquals(
        ReadmeSnippet.tagged(Path.of("src/test/java/io/spool/examples/WordCountHandler.java")),
        ReadmeSnippet.inReadme(README, "## Job types"));
  }

  @Test
  void readmeShowsTheCompiledClientExample() throws Exception {
    assertEquals(
        ReadmeSnippet.tagged(
            Path.of(
                "..",
                "client",
                "src",
                "test",
                "java",
                "io",
                "spool",
                "client",
                "examples",
                "ClientExample.java")),
        ReadmeSnippet.inReadme(README, "## Java client"));
  }

  @Test
  void exampleHandlerCountsWordsThroughARealWorker() throws Exception {
    try (var spool = InProcessSpool.start(ReadmeExamplesTest.class, Map.of())) {
      String id =
          spool.http.submit(
              "{\"type\":\"word-count\",\"request\":{\"documents\":[\"one two\",\"three four five\"]}}");
      JsonNode job = spool.awaitEnd(id);
      assertEquals("completed", job.get("status").asText(), job.toString());
      assertEquals(5, job.get("result").get("words").asInt());
      assertEquals(id + ":report", job.get("result").get("report").get("sent_with_key").asText());
      assertEquals(2, job.get("checkpoint").get("next").asInt());
    }
  }
}
