package io.spool.worker.builtin;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.HttpClientResponse;
import java.util.Iterator;

/** An HTTP answer whose body a handler's (plain virtual) thread reads chunk by chunk, blocking. */
record StreamedResponse(HttpClientResponse response, Iterator<Buffer> chunks) {
  /**
   * Opens a request, waiting on the handler's thread. If the wait ends early (the job was cancelled
   * or timed out), the request that arrives later is reset rather than left holding a pooled
   * connection.
   */
  static HttpClientRequest open(HttpClient client, RequestOptions options) throws Exception {
    Future<HttpClientRequest> opening = client.request(options);
    try {
      return opening.await();
    } catch (Exception e) { // InterruptedException too, which await throws unchecked
      opening.onSuccess(HttpClientRequest::reset);
      throw e;
    }
  }


  /**
   * Sends the request ({@code body} may be null) and attaches the blocking reader as the answer
   * arrives, on the event loop: attached after an {@code await} on the handler's thread, it would
   * find the body already gone.
   */
  static Future<StreamedResponse> send(HttpClientRequest request, Buffer body) {
    var sent = body == null ? request.send() : request.send(body);
    return sent.map(response -> new StreamedResponse(response, response.blockingStream().iterator()));
  }
}
