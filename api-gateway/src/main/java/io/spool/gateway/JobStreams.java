package io.spool.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.model.JobIds;
import io.spool.model.JobJson;
import io.spool.store.UserJobSql;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.ext.web.RoutingContext;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.templates.SqlTemplate;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Live progress: Server-Sent Events and WebSockets for one job, a WebSocket that follows several
 * jobs, and the wait behind long-polling. All read through {@link EventFeed}.
 */
final class JobStreams {
  /** An idle SSE stream gets a comment this often, so proxies and clients keep it open. */
  static final long SSE_HEARTBEAT_MILLIS = 15_000;

  /** An idle WebSocket gets a ping this often, for the same reason (proxies close silent ones). */
  static final long WS_PING_MILLIS = 15_000;

  private final Vertx vertx;
  private final SqlClient pg;
  private final EventFeed feed;
  private final EventHub hub;

  JobStreams(Vertx vertx, SqlClient pg, EventFeed feed, EventHub hub) {
    this.vertx = vertx;
    this.pg = pg;
    this.feed = feed;
    this.hub = hub;
  }

  /** GET /v1/jobs/{id}/events: {@code id: seq}, {@code event: type}, {@code data: event JSON}. */
  void sse(RoutingContext ctx) {
    UUID id = RequestParts.pathId(ctx);
    String user = ApiRoutes.user(ctx);
    long after = afterSeq(ctx, ctx.request().getHeader("Last-Event-ID"));
    requireOwn(id, user)
        .onSuccess(
            v -> {
              HttpServerResponse response =
                  ctx.response()
                      .setChunked(true)
                      .putHeader("Content-Type", "text/event-stream")
                      .putHeader("Cache-Control", "no-cache")
                      .putHeader("X-Accel-Buffering", "no"); // or nginx buffers the stream
              response.write(": watching job " + id + "\n\n");
              long heartbeat =
                  vertx.setPeriodic(SSE_HEARTBEAT_MILLIS, t -> response.write(": keep-alive\n\n"));
              var slow = new SlowClient();
              response.drainHandler(x -> slow.caughtUp());
              var session =
                  feed.start(
                      id,
                      user,
                      after,
                      EventFeed.Sink.of(
                          frame -> {
                            if (response.closed()) {
                              return;
                            }
                            if (slow.mustGo(!response.writeQueueFull())) {
                              // Closing is the only way to tell an SSE client; it resumes with
                              // Last-Event-ID, which its EventSource sends by itself.
                              ctx.request().connection().close();
                              return;
                            }
                            response.write(frame.sse());
                          },
                          () -> {
                            vertx.cancelTimer(heartbeat);
                            response.end();
                          }));
              response.closeHandler(
                  x -> {
                    vertx.cancelTimer(heartbeat);
                    session.stop();
                  });
            })
        .onFailure(ctx::fail);
  }

  /**
   * GET /v1/jobs/{id}/ws: every event as a JSON text frame, then {@code end}, then the socket
   * closes.
   */
  void webSocket(RoutingContext ctx) {
    UUID id = RequestParts.pathId(ctx);
    String user = ApiRoutes.user(ctx);
    long after = afterSeq(ctx, null);
    ctx.request().pause(); // the handshake must find the request unread after the ownership check
    requireOwn(id, user)
        .compose(v -> ctx.request().toWebSocket())
        .onSuccess(
            socket -> {
              long ping = keepAlive(socket);
              var sender = new WebSocketSender(socket, true);
              var session =
                  feed.start(id, user, after, EventFeed.Sink.of(sender::send, socket::close));
              socket.closeHandler(
                  x -> {
                    vertx.cancelTimer(ping);
                    session.stop();
                  });
            })
        .onFailure(ctx::fail);
  }

  /**
   * GET /v1/ws: one socket following several jobs. The client sends {@code {"op": "subscribe",
   * "job_id": "...", "after": 0}} and {@code {"op": "unsubscribe", "job_id": "..."}}; the server
   * sends the events of every followed job and, for a request it cannot honour, {@code {"type":
   * "error", "job_id": ..., "message": "..."}}. The socket stays open after a job ends.
   */
  void multiJobWebSocket(RoutingContext ctx) {
    String user = ApiRoutes.user(ctx);
    ctx.request()
        .toWebSocket()
        .onSuccess(
            socket -> {
              var followed = new Followed(new WebSocketSender(socket, false));
              long ping = keepAlive(socket);
              socket.textMessageHandler(text -> onCommand(socket, user, followed, text));
              socket.closeHandler(
                  x -> {
                    vertx.cancelTimer(ping);
                    followed.closed = true;
                    followed.feeds.values().forEach(EventFeed.Session::stop);
                  });
            })
        .onFailure(ctx::fail);
  }

  /**
   * What one {@code /v1/ws} socket follows: running feeds, and jobs whose ownership is being
   * checked (a second subscribe in that moment is "already subscribed", an unsubscribe cancels the
   * start). Touched only on the socket's event loop.
   */
  private static final class Followed {
    final WebSocketSender sender;
    final Map<UUID, EventFeed.Session> feeds = new HashMap<>();
    final Set<UUID> checking = new HashSet<>();
    boolean closed;

    Followed(WebSocketSender sender) {
      this.sender = sender;
    }
  }

  /** Pings the socket while it is open; answers the timer to cancel. */
  private long keepAlive(ServerWebSocket socket) {
    return vertx.setPeriodic(WS_PING_MILLIS, t -> socket.writePing(Buffer.buffer()));
  }

  private void onCommand(ServerWebSocket socket, String user, Followed followed, String text) {
    JsonNode command;
    try {
      command = JobJson.MAPPER.readTree(text);
    } catch (Exception e) {
      sendError(socket, null, "not JSON; send {\"op\": \"subscribe\", \"job_id\": \"...\"}");
      return;
    }
    String op = command.path("op").asText("");
    UUID id = JobIds.parse(command.path("job_id").asText(null)).orElse(null);
    if (id == null || !(op.equals("subscribe") || op.equals("unsubscribe"))) {
      sendError(
          socket,
          command.path("job_id").asText(null),
          "expected {\"op\": \"subscribe\"|\"unsubscribe\", \"job_id\": \"<uuid>\"}");
      return;
    }
    if (op.equals("unsubscribe")) {
      followed.checking.remove(id);
      EventFeed.Session session = followed.feeds.remove(id);
      if (session != null) {
        session.stop();
      }
      return;
    }
    long after = command.path("after").asLong(0);
    if (followed.feeds.containsKey(id) || followed.checking.contains(id) || after < 0) {
      sendError(
          socket, id.toString(), after < 0 ? "after must not be negative" : "already subscribed");
      return;
    }
    followed.checking.add(id);
    requireOwn(id, user)
        .onComplete(
            owned -> {
              // Unsubscribed or closed while the check ran: start nothing.
              if (!followed.checking.remove(id) || followed.closed) {
                return;
              }
              if (owned.failed()) {
                if (owned.cause() instanceof ProblemException) {
                  sendError(socket, id.toString(), "no job " + id);
                } else {
                  var error =
                      errorMessage(
                              id.toString(),
                              "the job could not be checked just now; subscribe again")
                          .put("retry", true);
                  socket.writeTextMessage(JobJson.encode(error));
                }
                return;
              }
              followed.feeds.put(
                  id,
                  feed.start(
                      id,
                      user,
                      after,
                      EventFeed.Sink.of(followed.sender::send, () -> followed.feeds.remove(id))));
            });
  }

  private static void sendError(ServerWebSocket socket, String jobId, String message) {
    socket.writeTextMessage(JobJson.encode(errorMessage(jobId, message)));
  }

  private static com.fasterxml.jackson.databind.node.ObjectNode errorMessage(
      String jobId, String message) {
    return JobJson.MAPPER
        .createObjectNode()
        .put("type", "error")
        .put("job_id", jobId)
        .put("message", message);
  }

  /**
   * A wait for a job's end: {@code ended} completes when its {@code end} event arrives or after the
   * maximum; {@code close} stops listening. No polling of Postgres while it waits.
   */
  record EndWatch(Future<Void> ended, Runnable close) {}

  /**
   * Starts listening for the job's end; completes once the subscription is in place, so a caller
   * that reads the job after that misses no end: one that came earlier shows in what it reads.
   */
  Future<EndWatch> watchForEnd(UUID jobId, Duration max) {
    Promise<Void> ended = Promise.promise();
    long timer = vertx.setTimer(max.toMillis(), t -> ended.tryComplete());
    return hub.awaitEnd(jobId, ended::tryComplete)
        .map(
            registration ->
                new EndWatch(
                    ended.future(),
                    () -> {
                      vertx.cancelTimer(timer);
                      registration.close();
                    }));
  }

  private Future<Void> requireOwn(UUID id, String user) {
    return SqlTemplate.forQuery(pg, UserJobSql.SELECT_OWN_STATUS)
        .execute(Map.of("id", id, "user", user))
        .compose(
            rows ->
                rows.size() == 0
                    ? Future.failedFuture(Problem.notFound("no job " + id).exception())
                    : Future.succeededFuture());
  }

  /** The seq to resume after: the Last-Event-ID header, or {@code ?after=}; 0 for the start. */
  private static long afterSeq(RoutingContext ctx, String lastEventId) {
    String text = lastEventId != null ? lastEventId : ctx.queryParams().get("after");
    if (text == null || text.isEmpty()) {
      return 0;
    }
    try {
      long after = Long.parseLong(text.trim());
      if (after >= 0) {
        return after;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw Problem.badRequest("the seq to resume after must be a whole number, 0 or more")
        .exception();
  }
}
