package io.spool.launcher;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;

/**
 * A real HTTP server on 127.0.0.1 for webhooks and {@code http} jobs to call: it answers each path
 * with the answers it was given, in order, then 200 with no body, and keeps every request.
 */
final class Receiver implements AutoCloseable {
  /** What to answer, after {@code delayMillis}. */
  record Answer(int status, Map<String, String> headers, String body, long delayMillis) {
    Answer(int status, Map<String, String> headers, String body) {
      this(status, headers, body, 0);
    }

    static Answer of(int status) {
      return new Answer(status, Map.of(), null);
    }
  }

  record Request(
      String method, String path, String body, Map<String, List<String>> headers, int answered) {
    String header(String name) {
      return headers.entrySet().stream()
          .filter(e -> e.getKey().equalsIgnoreCase(name))
          .map(e -> e.getValue().get(0))
          .findFirst()
          .orElse(null);
    }
  }

  final List<Request> requests = new CopyOnWriteArrayList<>();
  private final Map<String, ConcurrentLinkedQueue<Answer>> scripts = new ConcurrentHashMap<>();
  private final HttpServer server;

  Receiver() throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/",
        exchange -> {
          String body =
              new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
          String path = exchange.getRequestURI().getPath();
          Answer scripted = scripts.getOrDefault(path, new ConcurrentLinkedQueue<>()).poll();
          Answer answer = scripted == null ? Answer.of(200) : scripted;
          requests.add(
              new Request(
                  exchange.getRequestMethod(),
                  path,
                  body,
                  Map.copyOf(exchange.getRequestHeaders()),
                  answer.status()));
          try {
            Thread.sleep(answer.delayMillis());
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          answer.headers().forEach(exchange.getResponseHeaders()::add);
          byte[] bytes =
              answer.body() == null ? null : answer.body().getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(answer.status(), bytes == null ? -1 : bytes.length);
          if (bytes != null) {
            exchange.getResponseBody().write(bytes);
          }
          exchange.close();
        });
    // A slow answer must not hold up the others.
    server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server.start();
  }

  void script(String path, Answer... answers) {
    scripts
        .computeIfAbsent(path, p -> new ConcurrentLinkedQueue<>())
        .addAll(Arrays.asList(answers));
  }

  void script(String path, int... statuses) {
    Arrays.stream(statuses).forEach(status -> script(path, Answer.of(status)));
  }

  String url(String path) {
    return "http://127.0.0.1:" + server.getAddress().getPort() + path;
  }

  List<Request> to(String path) {
    return requests.stream().filter(r -> r.path().equals(path)).toList();
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
