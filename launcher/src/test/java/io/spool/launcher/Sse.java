package io.spool.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.model.JobJson;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

/** Reads a job's SSE event stream to its end, as a browser's EventSource would. */
final class Sse {
  private static final HttpClient client = HttpClient.newHttpClient();

  private Sse() {}

  /** One SSE frame. */
  record Frame(long id, String event, JsonNode data) {}

  /** Reads a stream to its end (the server ends it after {@code end}); fails after a minute. */
  static List<Frame> read(String url, String lastEventId) throws Exception {
    return readAsync(url, lastEventId).get(60, TimeUnit.SECONDS);
  }

  /** Starts reading a stream to its end on another thread. */
  static CompletableFuture<List<Frame>> readAsync(String url) {
    return readAsync(url, null);
  }

  private static CompletableFuture<List<Frame>> readAsync(String url, String lastEventId) {
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            return readNow(url, lastEventId);
          } catch (Exception e) {
            throw new CompletionException(e);
          }
        });
  }

  private static List<Frame> readNow(String url, String lastEventId) throws Exception {
    var request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).GET();
    if (lastEventId != null) {
      request.header("Last-Event-ID", lastEventId);
    }
    HttpResponse<java.util.stream.Stream<String>> response =
        client.send(request.build(), HttpResponse.BodyHandlers.ofLines());
    assertEquals(200, response.statusCode());
    assertEquals("text/event-stream", response.headers().firstValue("Content-Type").orElse(""));
    var frames = new ArrayList<Frame>();
    long id = -1;
    String event = null;
    for (String line : (Iterable<String>) response.body()::iterator) {
      if (line.startsWith("id: ")) {
        id = Long.parseLong(line.substring(4));
      } else if (line.startsWith("event: ")) {
        event = line.substring(7);
      } else if (line.startsWith("data: ")) {
        frames.add(new Frame(id, event, JobJson.tree(line.substring(6))));
      }
    }
    return frames;
  }
}
