package io.spool.signal;

import io.spool.config.SpoolConfig;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;

/** Builds Redis clients from the settings. */
public final class RedisClients {
  private RedisClients() {}

  /** A pooled client for short commands; blocking reads take a connection of their own. */
  public static Redis client(Vertx vertx, SpoolConfig config, int poolSize) {
    return Redis.createClient(
        vertx,
        new RedisOptions()
            .setConnectionString(config.redis().url())
            .setMaxPoolSize(poolSize)
            .setMaxPoolWaiting(100_000)
            .setMaxWaitingHandlers(100_000));
  }
}
