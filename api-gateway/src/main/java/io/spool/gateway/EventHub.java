package io.spool.gateway;

import io.spool.signal.JobEvents;
import io.spool.signal.Keys;
import io.spool.signal.RedisClients;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Redis subscription per gateway process for all the jobs its clients watch: a job's channel is
 * subscribed while at least one local listener watches it, so events of unwatched jobs cost nothing
 * here. Those who only wait for jobs to end (long-polls) share the one channel announcing ended
 * jobs, subscribed with the connection, and cost no Redis command each. Listeners are called on the
 * context that registered them. If the subscription breaks, it is made again and every watched
 * channel re-subscribed.
 */
final class EventHub {
  private static final Logger log = LoggerFactory.getLogger(EventHub.class);
  private static final long RECONNECT_MILLIS = 1000;

  /**
   * Longest a listener waits for Redis to confirm its subscription; after that it goes on without
   * the confirmation (as when Redis is away), so a request waiting on it is never left without an
   * answer.
   */
  private static final long CONFIRM_MILLIS = 2000;

  /** A listener's handle; closing it stops its events. */
  interface Registration {
    void close();
  }

  /**
   * A listener and the event loop it runs on: the loop's own context, not the request's duplicate
   * of it, so that a job's listeners on one loop are served by one task (one wake-up of that loop)
   * per event, not one each.
   */
  private record Listener(Context context, Handler<EventFrame> handler) {}

  private record EndWaiter(Context context, Runnable onEnd) {}

  private final Vertx vertx;
  private final Redis subscriber;
  private final Keys keys;

  /** Per watched job, its listeners by event loop. */
  private final Map<UUID, Map<Context, Set<Listener>>> listeners = new HashMap<>();

  /**
   * Per channel, the SUBSCRIBEs sent and not yet confirmed by Redis, oldest first: Redis answers a
   * connection's commands in order, so each "subscribe" reply confirms the oldest.
   */
  private final Map<String, ArrayDeque<Promise<Void>>> unconfirmed = new HashMap<>();

  /** Who waits for which job to end; guarded by this. */
  private final Map<UUID, List<EndWaiter>> endWaiters = new HashMap<>();

  /** Confirmed once the current connection is subscribed to the ended channel; guarded by this. */
  private Promise<Void> endsSubscribed;

  private Future<RedisConnection> connection;

  EventHub(Vertx vertx, Redis subscriber, Keys keys) {
    this.vertx = vertx;
    this.subscriber = subscriber;
    this.keys = keys;
  }

  /**
   * Calls {@code onEnd} (on the caller's context) once the job's end is announced from now on;
   * completes once the ended channel is subscribed, so an end announced after that is not missed.
   */
  Future<Registration> awaitEnd(UUID jobId, Runnable onEnd) {
    var waiter = new EndWaiter(eventLoop(), onEnd);
    Promise<Void> subscribed;
    synchronized (this) {
      endWaiters.computeIfAbsent(jobId, id -> new ArrayList<>(1)).add(waiter);
      connection();
      subscribed = endsSubscribed;
    }
    Registration registration =
        () -> {
          synchronized (this) {
            List<EndWaiter> waiters = endWaiters.get(jobId);
            if (waiters != null && waiters.remove(waiter) && waiters.isEmpty()) {
              endWaiters.remove(jobId);
            }
          }
        };
    if (subscribed.future().isComplete()) {
      return Future.succeededFuture(registration);
    }
    long timer = vertx.setTimer(CONFIRM_MILLIS, t -> subscribed.tryComplete());
    subscribed.future().onComplete(v -> vertx.cancelTimer(timer));
    return onContext(waiter.context(), subscribed).map(registration);
  }

  /**
   * Calls {@code handler} (on the caller's context) for each event published for the job from now
   * on; completes once the subscription is in place, so events published after that are not missed.
   */
  Future<Registration> listen(UUID jobId, Handler<EventFrame> handler) {
    var listener = new Listener(eventLoop(), handler);
    String channel = keys.jobEventChannel(jobId);
    boolean first;
    Promise<Void> confirmed;
    synchronized (this) {
      first = !listeners.containsKey(jobId);
      listeners
          .computeIfAbsent(jobId, id -> new HashMap<>(4))
          .computeIfAbsent(listener.context(), c -> new LinkedHashSet<>())
          .add(listener);
      var sent = unconfirmed.get(channel);
      confirmed = first ? Promise.promise() : sent == null ? null : sent.peekLast();
      if (first) {
        unconfirmed.computeIfAbsent(channel, c -> new ArrayDeque<>()).add(confirmed);
      }
    }
    Registration registration = () -> stop(jobId, listener);
    if (!first) {
      // A listener beside an earlier one waits for the same confirmation, if it has not come yet.
      return confirmed == null
          ? Future.succeededFuture(registration)
          : onContext(listener.context(), confirmed).map(registration);
    }
    // The client completes a SUBSCRIBE once it is written, not once Redis has it: an event
    // published
    // in between would be missed. Redis's own "subscribe" reply (see onMessage) is what counts.
    long timer = vertx.setTimer(CONFIRM_MILLIS, t -> confirmed.tryComplete());
    connection()
        .compose(c -> c.send(Request.cmd(keys.subscribe()).arg(channel)))
        .onFailure(
            e -> {
              // Redis away: the listener stays registered and is served once the subscription is
              // back.
              log.debug("could not subscribe to job {} events: {}", jobId, e.toString());
              synchronized (this) {
                var sent = unconfirmed.get(channel);
                if (sent != null && sent.remove(confirmed) && sent.isEmpty()) {
                  unconfirmed.remove(channel);
                }
              }
              confirmed.tryComplete();
              resubscribeLater();
            });
    confirmed.future().onComplete(v -> vertx.cancelTimer(timer));
    return onContext(listener.context(), confirmed).map(registration);
  }

  /** The calling event loop's own context (a request runs on a duplicate of it). */
  private Context eventLoop() {
    return ((ContextInternal) vertx.getOrCreateContext()).unwrap();
  }

  /**
   * The confirmation, completed on the listener's context (Redis's reply comes on the
   * subscriber's).
   */
  private static Future<Void> onContext(Context context, Promise<Void> confirmed) {
    Promise<Void> there = ((ContextInternal) context).promise();
    confirmed.future().onComplete(there);
    return there.future();
  }

  /**
   * Redis confirmed a subscription to the channel: whatever waits for the oldest SUBSCRIBE goes on.
   */
  private void confirm(String channel) {
    Promise<Void> oldest;
    synchronized (this) {
      var sent = unconfirmed.get(channel);
      oldest = sent == null ? null : sent.poll();
      if (sent != null && sent.isEmpty()) {
        unconfirmed.remove(channel);
      }
    }
    if (oldest != null) {
      oldest.tryComplete();
    }
  }

  private void stop(UUID jobId, Listener listener) {
    boolean last;
    synchronized (this) {
      Map<Context, Set<Listener>> byLoop = listeners.get(jobId);
      Set<Listener> set = byLoop == null ? null : byLoop.get(listener.context());
      if (set == null || !set.remove(listener)) {
        return;
      }
      if (set.isEmpty()) {
        byLoop.remove(listener.context());
      }
      last = byLoop.isEmpty();
      if (last) {
        listeners.remove(jobId);
      }
    }
    if (last) {
      connection()
          .compose(c -> c.send(Request.cmd(keys.unsubscribe()).arg(keys.jobEventChannel(jobId))))
          .onFailure(e -> log.debug("could not unsubscribe from job {}: {}", jobId, e.toString()));
    }
  }

  /** The subscriber connection, made (and subscribed to the ended channel) if there is none. */
  private synchronized Future<RedisConnection> connection() {
    if (connection == null || connection.failed()) {
      Promise<Void> ends = Promise.promise();
      endsSubscribed = ends;
      String channel = keys.endedChannel();
      unconfirmed.computeIfAbsent(channel, c -> new ArrayDeque<>()).add(ends);
      connection =
          subscriber
              .connect()
              .map(
                  c -> {
                    c.handler(this::onMessage);
                    c.exceptionHandler(e -> reconnect(c));
                    c.endHandler(v -> reconnect(c));
                    c.send(Request.cmd(keys.subscribe()).arg(channel))
                        .onFailure(e -> ends.tryComplete());
                    return c;
                  });
      // Without Redis, waiters go on unsubscribed: a long-poll then answers when its wait is over.
      connection.onFailure(e -> ends.tryComplete());
    }
    return connection;
  }

  private void reconnect(RedisConnection broken) {
    List<Promise<Void>> waiting;
    synchronized (this) {
      // Once per connection: a cluster connection reports the end of each node's, and an error
      // comes before an end; closing one twice would hand its node connections back twice.
      if (connection == null || connection.result() != broken) {
        return;
      }
      RedisClients.closeQuietly(broken);
      connection = null;
      waiting = unconfirmed.values().stream().flatMap(ArrayDeque::stream).toList();
      unconfirmed.clear();
    }
    // Their subscriptions went with the connection; they are made again below, as for the others.
    waiting.forEach(Promise::tryComplete);
    resubscribeLater();
  }

  /** After a broken subscription: subscribe again to every watched job, retrying until it works. */
  private void resubscribeLater() {
    vertx.setTimer(
        RECONNECT_MILLIS,
        id -> {
          Set<UUID> watched;
          synchronized (this) {
            watched = Set.copyOf(listeners.keySet());
            if (watched.isEmpty() && endWaiters.isEmpty()) {
              return;
            }
          }
          connection()
              .compose(
                  c -> {
                    if (watched.isEmpty()) {
                      return Future.succeededFuture();
                    }
                    if (keys.cluster()) {
                      // One SSUBSCRIBE per channel: each goes to its own slot's master.
                      var sent = new ArrayList<Future<?>>(watched.size());
                      watched.forEach(
                          jobId ->
                              sent.add(
                                  c.send(
                                      Request.cmd(keys.subscribe())
                                          .arg(keys.jobEventChannel(jobId)))));
                      return Future.all(sent).mapEmpty();
                    }
                    var subscribe = Request.cmd(keys.subscribe());
                    watched.forEach(jobId -> subscribe.arg(keys.jobEventChannel(jobId)));
                    return c.send(subscribe).mapEmpty();
                  })
              .onFailure(e -> resubscribeLater());
        });
  }

  private void onMessage(Response message) {
    // ["message", channel, event JSON] or ["subscribe", channel, count], as a RESP2 array or a
    // RESP3 push ("smessage" and "ssubscribe" on a cluster).
    if (message == null || message.size() != 3) {
      return;
    }
    String kind = message.get(0).toString();
    if (keys.subscribedKind().equals(kind)) {
      confirm(message.get(1).toString());
      return;
    }
    if (!keys.messageKind().equals(kind)) {
      return;
    }
    if (keys.endedChannel().equals(message.get(1).toString())) {
      onEnded(message.get(2).toString());
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
    List<Context> loops = new ArrayList<>(2);
    List<Listener[]> targets = new ArrayList<>(2);
    synchronized (this) {
      Map<Context, Set<Listener>> byLoop = listeners.get(frame.event().jobId());
      if (byLoop == null) {
        return;
      }
      byLoop.forEach(
          (loop, set) -> {
            loops.add(loop);
            targets.add(set.toArray(Listener[]::new));
          });
    }
    for (int i = 0; i < loops.size(); i++) {
      Listener[] these = targets.get(i);
      loops
          .get(i)
          .runOnContext(
              v -> {
                for (Listener listener : these) {
                  listener.handler().handle(frame);
                }
              });
    }
  }

  /** Wakes those waiting for the jobs announced as ended: ids, space-separated. */
  private void onEnded(String ids) {
    List<EndWaiter> woken = new ArrayList<>();
    synchronized (this) {
      if (endWaiters.isEmpty()) {
        return;
      }
      for (String id : ids.split(" ")) {
        List<EndWaiter> waiters = id.length() == 36 ? endWaiters.get(parseId(id)) : null;
        if (waiters != null) {
          woken.addAll(waiters);
        }
      }
    }
    // One task per event loop for all its woken waiters.
    Map<Context, List<EndWaiter>> byLoop = new HashMap<>(4);
    woken.forEach(
        waiter -> byLoop.computeIfAbsent(waiter.context(), c -> new ArrayList<>()).add(waiter));
    byLoop.forEach(
        (loop, waiters) -> loop.runOnContext(v -> waiters.forEach(waiter -> waiter.onEnd().run())));
  }

  private static UUID parseId(String id) {
    try {
      return UUID.fromString(id);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }
}
