package io.spool.worker;

import io.spool.model.JobIds;
import io.spool.signal.Keys;
import io.spool.signal.RedisClients;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fast half of cancellation: a subscription to the cancel channel, on a connection of its own.
 * A job that is cancelled while it runs here is interrupted at once. Messages missed while Redis is
 * away are made up by the heartbeat, which also looks for cancellation requests in Postgres.
 */
final class CancelListener extends VerticleBase {
  private static final Logger log = LoggerFactory.getLogger(CancelListener.class);
  private static final long RECONNECT_MILLIS = 1000;

  private final Redis subscriber;
  private final Keys keys;
  private final JobRunner runner;
  private volatile boolean stopping;

  /** The subscribed connection, if there is one; guarded by this. */
  private RedisConnection current;

  CancelListener(Redis subscriber, Keys keys, JobRunner runner) {
    this.subscriber = subscriber;
    this.keys = keys;
    this.runner = runner;
  }

  @Override
  public Future<?> start() {
    subscribe();
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    return subscriber.close();
  }

  private void subscribe() {
    if (stopping) {
      return;
    }
    subscriber
        .connect()
        .compose(
            connection -> {
              synchronized (this) {
                current = connection;
              }
              connection.handler(this::onMessage);
              connection.exceptionHandler(e -> retry(connection));
              connection.endHandler(v -> retry(connection));
              return connection.send(Request.cmd(keys.subscribe()).arg(keys.cancelChannel()));
            })
        .onFailure(
            e -> {
              log.debug("cancel subscription failed, retrying: {}", e.toString());
              vertx.setTimer(RECONNECT_MILLIS, id -> subscribe());
            });
  }

  private void retry(RedisConnection broken) {
    synchronized (this) {
      // Once per connection: a cluster connection reports each node's end, and errors come first.
      if (current != broken) {
        return;
      }
      current = null;
    }
    RedisClients.closeQuietly(broken);
    if (!stopping) {
      vertx.setTimer(RECONNECT_MILLIS, id -> subscribe());
    }
  }

  private void onMessage(Response message) {
    // ["message", channel, job id] in RESP2 and as a RESP3 push ("smessage" on a cluster).
    if (message != null
        && message.size() == 3
        && keys.messageKind().equals(message.get(0).toString())) {
      JobIds.parse(message.get(2).toString()).ifPresent(runner::cancel);
    }
  }
}
