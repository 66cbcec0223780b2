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
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * A Lua script run by its SHA-1 ({@code EVALSHA}), so hot and periodic calls do not send its text
 * each time. Redis learns it on first use, and again after a restart: a call answered {@code
 * NOSCRIPT} is sent once more with the text ({@code EVAL}, which also teaches the server the
 * script). On a cluster each node learns it on its own, so there only the calls a node refused are
 * sent again.
 */
public final class RedisScript {
  private final String source;
  private final String sha;

  public RedisScript(String source) {
    this.source = source;
    this.sha = sha1(source);
  }

  /** One call: the caller adds the number of keys, the keys and the arguments. */
  public final class Call {
    private final List<Object> args = new ArrayList<>();

    private Call() {}

    public Call arg(String arg) {
      args.add(arg);
      return this;
    }

    public Call arg(long arg) {
      args.add(arg);
      return this;
    }

    Request request(boolean withText) {
      var request =
          withText ? Request.cmd(Command.EVAL).arg(source) : Request.cmd(Command.EVALSHA).arg(sha);
      for (Object arg : args) {
        if (arg instanceof String text) {
          request.arg(text);
        } else {
          request.arg((Long) arg);
        }
      }
      return request;
    }
  }

  public Call call() {
    return new Call();
  }

  /** Sends one call. */
  public Future<Response> run(Redis redis, Call call) {
    return redis
        .send(call.request(false))
        .recover(e -> isNoScript(e) ? redis.send(call.request(true)) : Future.failedFuture(e))
        .compose(RedisScript::failIfError);
  }

  /**
   * Sends the calls, in one pipeline on a single Redis, each on its own on a cluster (whose client
   * pipelines those bound for one node); fails if any answered an error.
   */
  public Future<List<Response>> run(Redis redis, List<Call> calls, boolean cluster) {
    if (cluster || calls.size() == 1) {
      var replies = new ArrayList<Future<Response>>(calls.size());
      calls.forEach(call -> replies.add(run(redis, call)));
      return Future.all(replies).map(all -> all.<Response>list());
    }
    return batch(redis, calls, false)
        .recover(e -> isNoScript(e) ? batch(redis, calls, true) : Future.failedFuture(e));
  }

  private static Future<List<Response>> batch(Redis redis, List<Call> calls, boolean withText) {
    var requests = new ArrayList<Request>(calls.size());
    calls.forEach(call -> requests.add(call.request(withText)));
    return redis
        .batch(requests)
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

  private static Future<Response> failIfError(Response reply) {
    return reply != null && reply.type() == ResponseType.ERROR
        ? Future.failedFuture(reply.toString())
        : Future.succeededFuture(reply);
  }

  /**
   * The server does not know the script (on a single Redis every call of a pipeline is refused
   * alike, so all are sent again with the text).
   */
  private static boolean isNoScript(Throwable e) {
    return e.getMessage() != null && e.getMessage().contains("NOSCRIPT");
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
