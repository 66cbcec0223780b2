package io.spool.worker.builtin;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.RequestOptions;
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
   * arrives, on the request's event loop. The reader is attached before the request is sent: a fast
   * server's answer, headers, body and end, can otherwise be processed before a listener added
   * afterwards runs, and the body is gone (attaching then throws IllegalStateException).
   */
  static Future<StreamedResponse> send(HttpClientRequest request, Buffer body) {
    Future<StreamedResponse> answer =
        request
            .response()
            .map(response -> new StreamedResponse(response, response.blockingStream().iterator()));
    if (body == null) {
      request.end();
    } else {
      request.end(body);
    }
    return answer;
  }
}
