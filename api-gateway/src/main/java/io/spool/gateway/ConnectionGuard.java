package io.spool.gateway;

import io.micrometer.core.instrument.Counter;
import io.spool.config.SpoolConfig;
import io.spool.ops.SpoolMetrics;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.util.ArrayList;
import java.util.IdentityHashMap;

/**
 * Bounds what each client connection may hold on one event loop, and keeps a connection usable
 * after an answer sent before its request's body was read (401, 413, 415, 429, ...).
 *
 * <p>Once a second every HTTP/1.x connection is checked against what it is doing: waiting for its
 * first request head (the header timeout), receiving a body (the body timeout: a 408, then closed),
 * waiting for its answer (no bound here: a long-poll, an SSE stream or a slow store take what they
 * take), or idle between requests (the idle timeout). A WebSocket leaves the guard when it begins:
 * it has heartbeats of its own. The gateway speaks HTTP/1.1 only, so every connection is known here
 * from its first moment. Every closing is counted by reason.
 */
final class ConnectionGuard {
  /**
   * A body answered before it was read is read and dropped, so the client's next request on the
   * connection is seen, if it declares at most this; a larger or undeclared one closes the
   * connection once it has arrived (or this much more of it has, whichever is first).
   */
  static final long DRAIN_LIMIT = ApiRoutes.MAX_BODY_BYTES;

  /**
   * A larger body of declared length is still read to its end, up to this, before the connection
   * closes: closing while the client is still sending makes its TCP stack answer with a reset,
   * which can throw away the 413 before the client has read it (the JDK's HttpClient then reports
   * "header parser received no bytes"). The body timeout bounds how long the reading may take.
   */
  static final long LINGER_LIMIT = 16 * ApiRoutes.MAX_BODY_BYTES;

  private static final String CONTEXT_KEY = ConnectionGuard.class.getName();
  private static final long SWEEP_MILLIS = 1000;

  /** What one connection is doing, as last seen. */
  private static final class Tracked {
    HttpServerRequest request;

    /**
     * When the current state began (nanoTime): opened, request head seen, or answer seen complete.
     */
    long since;

    boolean served;

    /** The guard closes it (or Vert.x will, after an invalid request): not the client's doing. */
    boolean closing;

    Tracked(long now) {
      since = now;
    }
  }

  private final long headerNanos;
  private final long bodyNanos;
  private final long idleNanos;
  private final IdentityHashMap<HttpConnection, Tracked> open = new IdentityHashMap<>();
  private final Counter headerTimeouts;
  private final Counter bodyTimeouts;
  private final Counter idleTimeouts;
  private final Counter undrained;
  private final Counter invalid;
  private final Counter clientGone;

  private ConnectionGuard(SpoolConfig.Connections limits, SpoolMetrics metrics) {
    headerNanos = limits.headerTimeout().toNanos();
    bodyNanos = limits.bodyTimeout().toNanos();
    idleNanos = limits.idleTimeout().toNanos();
    headerTimeouts = metrics.connectionsClosed("header_timeout");
    bodyTimeouts = metrics.connectionsClosed("body_timeout");
    idleTimeouts = metrics.connectionsClosed("idle_timeout");
    undrained = metrics.connectionsClosed("body_not_read");
    invalid = metrics.connectionsClosed("invalid_request");
    clientGone = metrics.connectionsClosed("client_closed_mid_request");
  }

  /** A guard for the calling verticle's event loop, found again there by {@link #drainUnread}. */
  static ConnectionGuard install(
      Vertx vertx, Context context, SpoolConfig.Connections limits, SpoolMetrics metrics) {
    var guard = new ConnectionGuard(limits, metrics);
    context.put(CONTEXT_KEY, guard);
    vertx.setPeriodic(SWEEP_MILLIS, id -> guard.sweep());
    return guard;
  }

  /** A connection was accepted. */
  void opened(HttpConnection connection) {
    var tracked = new Tracked(System.nanoTime());
    open.put(connection, tracked);
    connection.closeHandler(v -> closed(connection));
  }

  /** A request head arrived: the body timeout runs until its body has. */
  void begin(HttpServerRequest request) {
    HttpConnection connection = request.connection();
    Tracked tracked = open.get(connection);
    if (tracked == null) {
      return;
    }
    // Only a WebSocket upgrade leaves: the JDK's HttpClient asks every new connection for h2c,
    // refused.
    if ("websocket".equalsIgnoreCase(request.getHeader(HttpHeaders.UPGRADE))) {
      open.remove(connection);
      return;
    }
    tracked.request = request;
    tracked.since = System.nanoTime();
  }

  /** A request that is not valid HTTP: its connection closes after the answer. */
  void invalid(HttpServerRequest request) {
    Tracked tracked = open.get(request.connection());
    if (tracked != null) {
      tracked.closing = true;
    }
    invalid.increment();
  }

  private void closed(HttpConnection connection) {
    Tracked tracked = open.remove(connection);
    if (tracked != null
        && !tracked.closing
        && tracked.request != null
        && !tracked.request.isEnded()) {
      clientGone.increment();
    }
  }

  private void sweep() {
    long now = System.nanoTime();
    // A copy: an answer sent from here may run handlers that touch the map.
    for (var entry : new ArrayList<>(open.entrySet())) {
      Tracked t = entry.getValue();
      if (t.closing) {
        continue;
      }
      HttpServerRequest request = t.request;
      if (request == null) {
        if (now - t.since > (t.served ? idleNanos : headerNanos)) {
          close(entry.getKey(), t, t.served ? idleTimeouts : headerTimeouts);
        }
      } else if (!request.isEnded()) {
        if (now - t.since > bodyNanos) {
          bodyTimedOut(entry.getKey(), t, request);
        }
      } else if (request.response().ended()) {
        t.request = null;
        t.served = true;
        t.since = now;
      }
    }
  }

  private void bodyTimedOut(HttpConnection connection, Tracked t, HttpServerRequest request) {
    HttpServerResponse response = request.response();
    if (response.headWritten()) {
      close(connection, t, bodyTimeouts);
      return;
    }
    t.closing = true;
    bodyTimeouts.increment();
    response.putHeader(HttpHeaders.CONNECTION, HttpHeaders.CLOSE);
    Problem.of(
            408,
            "request-timeout",
            "Request timeout",
            "the request body did not arrive within SPOOL_HTTP_BODY_TIMEOUT_SECS; nothing was done")
        .send(response);
    connection.close();
  }

  private static void close(HttpConnection connection, Tracked t, Counter reason) {
    t.closing = true;
    reason.increment();
    connection.close();
  }

  /**
   * Called before an answer that may go out while the request's body is still arriving. Without it,
   * a paused request (the rate limiter pauses every one while Redis answers) would stay paused: the
   * connection would never read again, and the client's next request on it would get no answer. The
   * rest of the body is read and dropped; if it is larger than {@link #DRAIN_LIMIT}, or of no
   * declared length, the answer says {@code Connection: close} and the connection closes once the
   * body has arrived: all of a declared body up to {@link #LINGER_LIMIT}, else {@link #DRAIN_LIMIT}
   * more of it (the body timeout bounds how long that may take).
   */
  static void drainUnread(HttpServerRequest request, HttpServerResponse response) {
    if (request.isEnded()) {
      return;
    }
    long declared = declaredLength(request);
    boolean keep = declared >= 0 && declared <= DRAIN_LIMIT;
    if (!keep && !response.headWritten()) {
      response.putHeader(HttpHeaders.CONNECTION, HttpHeaders.CLOSE);
    }
    long dropUpTo = declared >= 0 && declared <= LINGER_LIMIT ? declared : DRAIN_LIMIT;
    long[] dropped = {0};
    Context context = Vertx.currentContext();
    ConnectionGuard guard = context == null ? null : context.get(CONTEXT_KEY);
    request.handler(
        data -> {
          dropped[0] += data.length();
          if (!keep && dropped[0] > dropUpTo) {
            closeUnread(guard, request);
          }
        });
    request.endHandler(
        v -> {
          if (!keep) {
            closeUnread(guard, request);
          }
        });
    request.resume();
  }

  private static void closeUnread(ConnectionGuard guard, HttpServerRequest request) {
    HttpConnection connection = request.connection();
    Tracked tracked = guard == null ? null : guard.open.get(connection);
    if (tracked != null) {
      if (tracked.closing) {
        return;
      }
      tracked.closing = true;
      guard.undrained.increment();
    }
    connection.close();
  }

  /**
   * The body's length as its head declares it: 0 when it declares none, -1 for chunked or
   * unreadable.
   */
  private static long declaredLength(HttpServerRequest request) {
    String length = request.getHeader(HttpHeaders.CONTENT_LENGTH);
    if (request.headers().contains(HttpHeaders.TRANSFER_ENCODING)) {
      return -1;
    }
    if (length == null) {
      return 0;
    }
    try {
      return Long.parseLong(length.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
