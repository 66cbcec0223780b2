package io.spool.testing;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.model.JobJson;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A blocking HTTP client for tests: every answer with its status, headers and parsed JSON. */
public final class HttpJson {
  private final String base;
  private final String apiKey;
  private final HttpClient client =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  public HttpJson(String base) {
    this(base, null);
  }

  /** A client that sends {@code Authorization: Bearer apiKey} on every request. */
  public HttpJson(String base, String apiKey) {
    this.base = base;
    this.apiKey = apiKey;
  }

  public record Response(int status, HttpResponse<String> raw) {
    public JsonNode json() {
      return JobJson.tree(raw.body());
    }

    public String header(String name) {
      return raw.headers().firstValue(name).orElse(null);
    }
  }

  /** Where it sends requests, such as {@code http://127.0.0.1:8080}. */
  public String baseUrl() {
    return base;
  }

  public Response get(String path) {
    return send(HttpRequest.newBuilder(URI.create(base + path)).GET());
  }

  public Response post(String path, String json) {
    return send(
        HttpRequest.newBuilder(URI.create(base + path))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(json)));
  }

  public Response put(String path, String json) {
    return send(
        HttpRequest.newBuilder(URI.create(base + path))
            .header("Content-Type", "application/json")
            .PUT(HttpRequest.BodyPublishers.ofString(json)));
  }

  public Response delete(String path) {
    return send(HttpRequest.newBuilder(URI.create(base + path)).DELETE());
  }

  /** Submits a job; anything but 202 fails the test with the answer. Answers the job's id. */
  public String submit(String json) {
    Response response = post("/v1/jobs", json);
    if (response.status() != 202) {
      throw new AssertionError(
          "expected 202 for " + json + ", got " + response.status() + ": " + response.raw().body());
    }
    return response.json().get("id").asText();
  }

  public Response send(HttpRequest.Builder request) {
    try {
      if (apiKey != null) {
        request.setHeader("Authorization", "Bearer " + apiKey);
      }
      var response =
          client.send(
              request.timeout(Duration.ofSeconds(30)).build(),
              HttpResponse.BodyHandlers.ofString());
      return new Response(response.statusCode(), response);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
