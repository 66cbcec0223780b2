package io.spool.client;

import io.vertx.core.Context;
import io.vertx.core.Handler;
import io.vertx.core.http.ClientWebSocket;
import io.vertx.core.http.UpgradeRejectedException;
import java.util.function.Supplier;

/**
 * Keeps one WebSocket to the gateway open until stopped: when it drops, or cannot be opened, it is
 * opened again after a backoff, at the path the owner gives at that moment (so the owner can say
 * where to resume). A 4xx answer to the handshake stops it instead. Runs on the owner's context.
 */
final class ReconnectingSocket {
  /** First pause before reconnecting; it doubles after each failed try, up to the maximum. */
  static final long FIRST_BACKOFF_MILLIS = 100;

  static final long MAX_BACKOFF_MILLIS = 5_000;

  /** What the owner hears about, all on its context. */
  interface Listener {
    /** A connection is open: the place to (re)send anything the server must know. */
    void opened();

    void message(String text);

    /** The gateway refused the handshake with a 4xx: trying again would not help. */
    void refused(SpoolException problem);
  }

  private final SpoolClient client;
  private final Context context;
  private final Supplier<String> path;
  private final Listener listener;
  private long backoffMillis = FIRST_BACKOFF_MILLIS;
  private volatile int reconnects;
  private boolean stopped;

  /** The socket now open or opening; a close of any other is old news. */
  private ClientWebSocket socket;

  /** Whether {@link #socket} has finished its handshake. */
  private boolean open;

  ReconnectingSocket(
      SpoolClient client, Context context, Supplier<String> path, Listener listener) {
    this.client = client;
    this.context = context;
    this.path = path;
    this.listener = listener;
  }

  void start() {
    context.runOnContext(v -> connect());
  }

  /** On the owner's context: sends a text message if a connection is open, else drops it. */
  boolean send(String text) {
    if (!open) {
      return false;
    }
    socket.writeTextMessage(text);
    return true;
  }

  /** On the owner's context: closes the socket and opens no other. */
  void stop() {
    stopped = true;
    if (open) {
      socket.close();
    }
    // One still opening is closed as soon as it opens.
    open = false;
    socket = null;
  }

  /** How many times the connection dropped (or could not be made) and was tried again. */
  int reconnects() {
    return reconnects;
  }

  private void connect() {
    if (stopped) {
      return;
    }
    ClientWebSocket ws = client.sockets().webSocket();
    socket = ws;
    ws.textMessageHandler(onThis(ws, listener::message));
    ws.closeHandler(v -> dropped(ws));
    ws.exceptionHandler(e -> {}); // the close that follows a broken connection is what reconnects
    ws.connect(client.webSocketOptions(path.get()))
        .onSuccess(
            connected -> {
              backoffMillis = FIRST_BACKOFF_MILLIS;
              if (ws != socket || stopped) {
                ws.close();
                return;
              }
              open = true;
              listener.opened();
            })
        .onFailure(
            failure -> {
              if (failure instanceof UpgradeRejectedException rejected
                  && isPermanent(rejected.getStatus())) {
                stop();
                var headers = rejected.getHeaders();
                listener.refused(
                    SpoolException.of(
                        rejected.getStatus(),
                        "WebSocket refused",
                        headers == null ? null : headers.get("Content-Type"),
                        rejected.getBody()));
              } else {
                dropped(ws);
              }
            });
  }

  /** A 4xx will not change by asking again (an unknown job, a bad id), except 408 and 429. */
  private static boolean isPermanent(int status) {
    return status >= 400 && status < 500 && status != 408 && status != 429;
  }

  /**
   * Messages of a socket that has since been replaced are dropped: the new one resumes after them.
   */
  private Handler<String> onThis(ClientWebSocket ws, Handler<String> handler) {
    return text -> {
      if (ws == socket && !stopped) {
        handler.handle(text);
      }
    };
  }

  private void dropped(ClientWebSocket ws) {
    if (ws != socket || stopped) {
      return;
    }
    socket = null;
    open = false;
    reconnects++;
    long delay = backoffMillis;
    backoffMillis = Math.min(MAX_BACKOFF_MILLIS, backoffMillis * 2);
    client.vertx().setTimer(delay, t -> connect());
  }
}
