package io.spool.signal;

import io.vertx.core.Future;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import io.vertx.redis.client.impl.types.ErrorType;
import java.util.List;

/**
 * A cluster client whose short commands all go over one long-lived cluster connection (a connection
 * to each master, each pipelining every command bound for its node), made again when it breaks. The
 * Vert.x cluster client's own {@code send} takes a pooled connection to every master for each
 * command and hands them back after; for the hundreds of single-slot commands a busy gateway or
 * worker sends each second, that bookkeeping costs more than the commands. {@link #connect} still
 * hands out connections of their own, for blocking reads and subscriptions.
 */
final class SharedConnection implements Redis {
  private final Redis pool;

  /** The connection in use, or null until the next command makes one; guarded by this. */
  private Future<RedisConnection> current;

  SharedConnection(Redis pool) {
    this.pool = pool;
  }

  /**
   * The connection in use, made if there is none. Answers the future it made or found, never {@link
   * #current} read again: a connect that fails at once has already dropped it.
   */
  private synchronized Future<RedisConnection> connection() {
    if (current != null) {
      return current;
    }
    Future<RedisConnection> made;
    try {
      made = pool.connect();
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
    current = made;
    made.onSuccess(
            c -> {
              c.exceptionHandler(e -> drop(made));
              c.endHandler(v -> drop(made));
            })
        .onFailure(e -> drop(made));
    return made;
  }

  /** The connection broke: the next command makes a new one. */
  private void drop(Future<RedisConnection> broken) {
    synchronized (this) {
      if (current != broken) {
        return;
      }
      current = null;
    }
    broken.onSuccess(RedisClients::closeQuietly);
  }

  @Override
  public Future<Response> send(Request command) {
    Future<RedisConnection> connection = connection();
    return connection
        .compose(c -> c.send(command))
        .onFailure(e -> dropUnlessAnswered(connection, e));
  }

  @Override
  public Future<List<Response>> batch(List<Request> commands) {
    Future<RedisConnection> connection = connection();
    return connection
        .compose(c -> c.batch(commands))
        .onFailure(e -> dropUnlessAnswered(connection, e));
  }

  /** An error Redis answered leaves the connection as good as it was; any other failure not. */
  private void dropUnlessAnswered(Future<RedisConnection> connection, Throwable e) {
    if (!(e instanceof ErrorType)) {
      drop(connection);
    }
  }

  @Override
  public Future<RedisConnection> connect() {
    return pool.connect();
  }

  @Override
  public Future<Void> close() {
    Future<RedisConnection> last;
    synchronized (this) {
      last = current;
      current = null;
    }
    if (last != null) {
      last.onSuccess(RedisClients::closeQuietly);
    }
    return pool.close();
  }
}
