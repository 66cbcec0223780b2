package io.spool.gateway;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.internal.http.WebSocketInternal;
import java.lang.reflect.Field;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends event frames to one WebSocket: each frame's bytes, made once for all its sockets, are
 * written straight to the socket's Netty channel (no per-socket encoding, copy or write promise),
 * and flushed once per event-loop turn by the {@link TurnFlusher}. A client that stops reading is
 * closed as {@link SlowClient} decides. Used only on the socket's event loop.
 */
final class WebSocketSender implements TurnFlusher.Flushable {
  private static final Logger log = LoggerFactory.getLogger(WebSocketSender.class);

  /**
   * vertx-web hands a route a wrapper of the server's WebSocket with no way to unwrap it; its
   * {@code delegate} field is read once per socket. Null where it cannot be read (a Vert.x that
   * changed it): frames then go through Vert.x's own {@code writeTextMessage}, correct and slower.
   */
  private static final Field WRAPPED = wrappedField();

  private final ServerWebSocket socket;
  private final ChannelHandlerContext channel;
  private final TurnFlusher flusher;
  private final SlowClient slow = new SlowClient();
  private final boolean oneJob;
  private boolean awaitingFlush;
  private boolean gone;

  /**
   * @param oneJob the socket follows one job ({@code /v1/jobs/{id}/ws}), not several ({@code
   *     /v1/ws}): the close reason then says which seq to resume after
   */
  WebSocketSender(ServerWebSocket socket, TurnFlusher flusher, boolean oneJob) {
    this.socket = socket;
    this.flusher = flusher;
    this.oneJob = oneJob;
    this.channel = channelOf(socket);
    socket.drainHandler(v -> slow.caughtUp());
  }

  /**
   * Writes the frame, to be flushed at the end of this turn; false (and the socket closing with
   * code 1013 and a reason saying how to resume) if the client is too slow to be sent more.
   */
  boolean send(EventFrame frame) {
    if (gone || socket.isClosed()) {
      return false;
    }
    if (channel == null) {
      if (slow.mustGo(!socket.writeQueueFull(), 0)) {
        goSlow(frame);
        return false;
      }
      socket.writeTextMessage(frame.json());
      return true;
    }
    if (!channel.channel().isActive()) {
      return false; // the close handler is about to stop what feeds this socket
    }
    ChannelOutboundBuffer backlog = channel.channel().unsafe().outboundBuffer();
    if (slow.mustGo(
        channel.channel().isWritable(), backlog == null ? 0 : backlog.totalPendingWriteBytes())) {
      goSlow(frame);
      return false;
    }
    channel.write(frame.webSocket().duplicate(), channel.voidPromise());
    if (!awaitingFlush) {
      awaitingFlush = true;
      flusher.flushLater(this);
    }
    return true;
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

  @Override
  public ChannelHandlerContext channel() {
    return channel;
  }

  @Override
  public void flushed() {
    awaitingFlush = false;
  }

  private static ChannelHandlerContext channelOf(ServerWebSocket socket) {
    Object unwrapped = socket;
    try {
      if (WRAPPED != null && WRAPPED.getDeclaringClass().isInstance(socket)) {
        unwrapped = WRAPPED.get(socket);
      }
    } catch (IllegalAccessException e) {
      return null;
    }
    return unwrapped instanceof WebSocketInternal internal
        ? internal.channelHandlerContext()
        : null;
  }

  private static Field wrappedField() {
    try {
      Field field =
          Class.forName("io.vertx.ext.web.impl.ServerWebSocketWrapper")
              .getDeclaredField("delegate");
      field.setAccessible(true);
      return field;
    } catch (ReflectiveOperationException | RuntimeException e) {
      log.info("WebSocket frames go through Vert.x's writer: {}", e.toString());
      return null;
    }
  }
}
