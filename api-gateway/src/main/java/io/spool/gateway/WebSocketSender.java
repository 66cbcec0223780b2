package io.spool.gateway;

import io.vertx.core.http.ServerWebSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends event frames to one WebSocket, and closes it as {@link SlowClient} decides once the client
 * stops reading, so that what it has not read never grows past a few seconds of its events. Used
 * only on the socket's event loop.
 */
final class WebSocketSender {
  private static final Logger log = LoggerFactory.getLogger(WebSocketSender.class);

  private final ServerWebSocket socket;
  private final SlowClient slow = new SlowClient();
  private final boolean oneJob;
  private boolean gone;

  /**
   * @param oneJob the socket follows one job ({@code /v1/jobs/{id}/ws}), not several ({@code
   *     /v1/ws}): the close reason then says which seq to resume after
   */
  WebSocketSender(ServerWebSocket socket, boolean oneJob) {
    this.socket = socket;
    this.oneJob = oneJob;
    socket.drainHandler(v -> slow.caughtUp());
  }

  /**
   * Writes the frame, unless the client is too slow to be sent more: then the socket closes with
   * code 1013 and a reason saying how to resume, and nothing more is sent.
   */
  void send(EventFrame frame) {
    if (gone || socket.isClosed()) {
      return;
    }
    if (slow.mustGo(!socket.writeQueueFull())) {
      goSlow(frame);
      return;
    }
    socket.writeTextMessage(frame.json());
  }

  /** Closes the socket; {@code unsent} is the first frame it was not sent. */
  private void goSlow(EventFrame unsent) {
    gone = true;
    // The client read everything before this frame (what waits in the buffer goes out before the
    // close frame); a reason is at most 123 bytes.
    String reason =
        oneJob
            ? "too slow: reconnect with ?after=" + (unsent.event().seq() - 1)
            : "too slow: subscribe again, each job with after = its last seq";
    log.debug("closing a WebSocket that does not keep up: {}", reason);
    socket.close(SlowClient.TRY_AGAIN_LATER, reason);
  }
}
