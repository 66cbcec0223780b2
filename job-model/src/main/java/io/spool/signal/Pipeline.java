package io.spool.signal;

import io.vertx.core.Future;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.List;

/** Sends commands together, the way the Redis deployment allows. */
public final class Pipeline {
  private Pipeline() {}

  /**
   * On a single Redis, one pipeline. On a cluster a pipeline may not span nodes, so each command
   * goes on its own (the client still pipelines the commands bound for one node on its connection
   * to it). Answers the replies in order; fails if any command failed.
   */
  public static Future<List<Response>> send(Redis redis, Keys keys, List<Request> requests) {
    if (requests.isEmpty()) {
      return Future.succeededFuture(List.of());
    }
    if (!keys.cluster()) {
      return redis.batch(requests);
    }
    var replies = new ArrayList<Future<Response>>(requests.size());
    requests.forEach(request -> replies.add(redis.send(request)));
    return Future.all(replies).map(all -> all.<Response>list());
  }
}
