package io.spool.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.spool.model.JobJson;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.stream.IntStream;

/**
 * A small stand-in for an OpenAI-compatible model server ({@code POST /v1/chat/completions},
 * streamed as server-sent events), since no real model is reachable from the tests. The {@code
 * model} asked for picks its behaviour: {@code fast} streams {@link #FAST_TOKENS} at once, {@code
 * slow} streams {@link #SLOW_TOKEN_COUNT} tokens 50 ms apart, {@code refuse} answers 401, {@code
 * broken} streams {@link #FAST_TOKENS} and closes the connection without a finish or {@code
 * [DONE]}, {@code stall} streams them and then sends nothing for a minute. It keeps every request
 * and notices when a client goes away mid-stream.
 */
final class ModelServer implements AutoCloseable {
  static final List<String> FAST_TOKENS =
      List.of("Spool ", "streams ", "every ", "token ", "as ", "it ", "comes", ".");
  static final int SLOW_TOKEN_COUNT = 400;

  record Call(String authorization, JsonNode body) {}

  final List<Call> calls = new CopyOnWriteArrayList<>();

  /** The text sent to the last client before it went away. */
  final CompletableFuture<String> abandoned = new CompletableFuture<>();

  private final HttpServer server;

  ModelServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/v1/chat/completions", this::complete);
    server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server.start();
  }

  String baseUrl() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
  }

  static List<String> slowTokens() {
    return IntStream.range(0, SLOW_TOKEN_COUNT).mapToObj(i -> "t" + i + " ").toList();
  }

  private void complete(HttpExchange exchange) throws IOException {
    JsonNode body =
        JobJson.tree(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
    calls.add(new Call(exchange.getRequestHeaders().getFirst("Authorization"), body));
    String model = body.path("model").asText();
    if (model.equals("refuse")) {
      byte[] error =
          "{\"error\":{\"message\":\"Incorrect API key provided\",\"type\":\"invalid_request_error\"}}"
              .getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", "application/json");
      exchange.sendResponseHeaders(401, error.length);
      exchange.getResponseBody().write(error);
      exchange.close();
      return;
    }
    boolean slow = model.equals("slow");
    List<String> tokens = slow ? slowTokens() : FAST_TOKENS;
    exchange.getResponseHeaders().add("Content-Type", "text/event-stream");
    exchange.sendResponseHeaders(200, 0);
    var sent = new StringBuilder();
    OutputStream out = exchange.getResponseBody();
    try {
      for (String token : tokens) {
        event(
            out,
            "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\""
                + model
                + "\",\"choices\":[{\"index\":0,\"delta\":{\"content\":"
                + JobJson.MAPPER.writeValueAsString(token)
                + "},\"finish_reason\":null}]}");
        sent.append(token);
        if (slow) {
          Thread.sleep(50);
        }
      }
      if (model.equals("broken")) {
        return;
      }
      if (model.equals("stall")) {
        Thread.sleep(60_000);
        return;
      }
      event(
          out,
          "{\"id\":\"chatcmpl-1\",\"model\":\""
              + model
              + "\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}");
      event(
          out,
          "{\"id\":\"chatcmpl-1\",\"model\":\""
              + model
              + "\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,"
              + "\"completion_tokens\":"
              + tokens.size()
              + ",\"total_tokens\":"
              + (tokens.size() + 5)
              + "}}");
      out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
      out.close();
    } catch (IOException e) {
      abandoned.complete(sent.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      exchange.close();
    }
  }

  private static void event(OutputStream out, String json) throws IOException {
    out.write(("data: " + json + "\n\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
