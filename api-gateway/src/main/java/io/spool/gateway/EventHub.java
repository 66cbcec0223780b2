package io.spool.gateway;

import io.spool.model.JobEvents;
import io.spool.model.Keys;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Redis subscription per gateway process for all the jobs its clients watch: a job's channel is
 * subscribed while at least one local listener watches it, so events of unwatched jobs cost nothing
 * here. Listeners are called on the context that registered them. If the subscription breaks, it is
 * made again and every watched channel re-subscribed.
 */
final class EventHub {
  private static final Logger log = LoggerFactory.getLogger(EventHub.class);
  private static final long RECONNECT_MILLIS = 1000;

  /** A listener's handle; closing it stops its events. */
  interface Registration {
    void close();
  }

  private record Listener(Context context, Handler<EventFrame> handler) {}

  private final Vertx vertx;
  private final Redis subscriber;
  private final Keys keys;
  private final Map<UUID, Set<Listener>> listeners = new HashMap<>();
  private Future<RedisConnection> connection;

  EventHub(Vertx vertx, Redis subscriber, Keys keys) {
    this.vertx = vertx;
    this.subscriber = subscriber;
    this.keys = keys;
  }

  /**
   * Calls {@code handler} (on the caller's context) for each event published for the job from now
   * on; completes once the subscription is in place, so events published after that are not missed.
   */
  Future<Registration> listen(UUID jobId, Handler<EventFrame> handler) {
    var listener = new Listener(vertx.getOrCreateContext(), handler);
    boolean first;
    synchronized (this) {
      first = !listeners.containsKey(jobId);
      listeners.computeIfAbsent(jobId, id -> new LinkedHashSet<>()).add(listener);
    }
    Registration registration = () -> stop(jobId, listener);
    if (!first) {
      return Future.succeededFuture(registration);
    }
    return connection().compose(c -> c.send(Request.cmd(Command.SUBSCRIBE).arg(keys.jobEventChannel(jobId))))
        .map(registration)
        .recover(e -> {
          // Redis away: the listener stays registered and is served once the subscription is back.
          log.debug("could not subscribe to job {} events: {}", jobId, e.toString());
          resubscribeLater();
          return Future.succeededFuture(registration);
        });
  }

  private void stop(UUID jobId, Listener listener) {
    boolean last;
    synchronized (this) {
      Set<Listener> set = listeners.get(jobId);
      if (set == null || !set.remove(listener)) {
        return;
      }
      last = set.isEmpty();
      if (last) {
        listeners.remove(jobId);
      }
    }
    if (last) {
      connection().compose(c -> c.send(Request.cmd(Command.UNSUBSCRIBE).arg(keys.jobEventChannel(jobId))))
          .onFailure(e -> log.debug("could not unsubscribe from job {}: {}", jobId, e.toString()));
    }
  }

  private synchronized Future<RedisConnection> connection() {
    if (connection == null || connection.failed()) {
      connection = subscriber.connect().map(c -> {
        c.handler(this::onMessage);
        c.exceptionHandler(e -> reconnect(c));
        c.endHandler(v -> reconnect(c));
        return c;
      });
    }
    return connection;
  }

  private void reconnect(RedisConnection broken) {
    broken.close();
    synchronized (this) {
      connection = null;
    }
    resubscribeLater();
  }

  /** After a broken subscription: subscribe again to every watched job, retrying until it works. */
  private void resubscribeLater() {
    vertx.setTimer(RECONNECT_MILLIS, id -> {
      Set<UUID> watched;
      synchronized (this) {
        watched = Set.copyOf(listeners.keySet());
      }
      if (watched.isEmpty()) {
        return;
      }
      connection().compose(c -> {
        var subscribe = Request.cmd(Command.SUBSCRIBE);
        watched.forEach(jobId -> subscribe.arg(keys.jobEventChannel(jobId)));
        return c.send(subscribe);
      }).onFailure(e -> resubscribeLater());
    });
  }

  private void onMessage(Response message) {
    // ["message", channel, event JSON], as a RESP2 array or a RESP3 push.
    if (message == null || message.size() != 3 || !"message".equals(message.get(0).toString())) {
      return;
    }
    EventFrame frame;
    try {
      String json = message.get(2).toString();
      frame = new EventFrame(JobEvents.parse(json), json);
    } catch (RuntimeException e) {
      log.warn("unreadable event on {}: {}", message.get(1), e.toString());
      return;
    }
    // One task per event loop, not one per listener: a job followed by thousands costs a few hops.
    Map<Context, List<Listener>> byContext = new HashMap<>();
    synchronized (this) {
      Set<Listener> set = listeners.get(frame.event().jobId());
      if (set == null) {
        return;
      }
      set.forEach(listener -> byContext.computeIfAbsent(listener.context(), c -> new ArrayList<>()).add(listener));
    }
    byContext.forEach((context, targets) -> context.runOnContext(v -> {
      for (Listener listener : targets) {
        listener.handler().handle(frame);
      }
    }));
  }
}
