package io.spool.signal;

import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import io.vertx.redis.client.ResponseType;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * A Lua script run by its SHA-1 ({@code EVALSHA}), so hot and periodic calls do not send its text
 * each time. Redis learns it on first use, and again after a restart: a call answered {@code
 * NOSCRIPT} loads the script and is sent once more.
 */
public final class RedisScript {
  private final String source;
  private final String sha;

  public RedisScript(String source) {
    this.source = source;
    this.sha = sha1(source);
  }

  /**
   * A call of this script, to which the caller adds the number of keys, the keys and the arguments.
   */
  public Request call() {
    return Request.cmd(Command.EVALSHA).arg(sha);
  }

  /** Sends one call. */
  public Future<Response> run(Redis redis, Request call) {
    return run(redis, List.of(call)).map(replies -> replies.get(0));
  }

  /** Sends the calls in one pipeline; fails if any answered an error. */
  public Future<List<Response>> run(Redis redis, List<Request> calls) {
    return send(redis, calls)
        .recover(
            e -> {
              if (e.getMessage() == null || !e.getMessage().contains("NOSCRIPT")) {
                return Future.failedFuture(e);
              }
              // First use on this Redis, or it restarted since: load the script, then send the
              // calls again.
              return redis
                  .send(Request.cmd(Command.SCRIPT).arg("LOAD").arg(source))
                  .compose(loaded -> send(redis, calls));
            });
  }

  private static Future<List<Response>> send(Redis redis, List<Request> calls) {
    return redis
        .batch(calls)
        .compose(
            replies -> {
              for (Response reply : replies) {
                if (reply != null && reply.type() == ResponseType.ERROR) {
                  return Future.failedFuture(reply.toString());
                }
              }
              return Future.succeededFuture(replies);
            });
  }

  private static String sha1(String text) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
