package io.spool.worker.builtin;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.RequestOptions;
import java.util.ArrayList;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Reading an answer on a handler's plain virtual thread, as the built-in {@code http} and {@code
 * llm} do.
 */
class StreamedResponseTest {
  private static final String BODY = "{\"error\":{\"type\":\"invalid_request_error\"}}";
  static Vertx vertx;
  static HttpServer server;
  static HttpClient client;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    // Answers at once, headers and a small body in one write: the case a late reader lost.
    server =
        vertx
            .createHttpServer()
            .requestHandler(request -> request.response().setStatusCode(401).end(BODY))
            .listen(0, "127.0.0.1")
            .await();
    client = vertx.createHttpClient();
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
  }

  @Test
  void aBodyThatArrivesWithTheHeadersIsNotLost() throws Exception {
    // Many threads at once, so that some are parked between sending and reading, as under load.
    var threads = new ArrayList<CompletableFuture<Void>>();
    for (int t = 0; t < 64; t++) {
      threads.add(readAnswers(50));
    }
    for (var thread : threads) {
      thread.get();
    }
  }

  private static CompletableFuture<Void> readAnswers(int count) {
    var done = new CompletableFuture<Void>();
    Thread.ofVirtual()
        .start(
            () -> {
              try {
                for (int i = 0; i < count; i++) {
                  var request =
                      StreamedResponse.open(
                          client,
                          new RequestOptions()
                              .setMethod(HttpMethod.POST)
                              .setHost("127.0.0.1")
                              .setPort(server.actualPort())
                              .setURI("/chat/completions"));
                  var answer = StreamedResponse.send(request, Buffer.buffer("{}")).await();
                  var body = Buffer.buffer();
                  answer.chunks().forEachRemaining(body::appendBuffer);
                  assertEquals(401, answer.response().statusCode());
                  assertEquals(BODY, body.toString(), "answer " + i);
                }
                done.complete(null);
              } catch (Throwable e) {
                done.completeExceptionally(e);
              }
            });
    return done;
  }
}
