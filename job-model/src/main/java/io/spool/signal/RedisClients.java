package io.spool.signal;

import io.spool.config.SpoolConfig;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisClientType;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.RedisReplicas;
import io.vertx.redis.client.RedisRole;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds Redis clients from the settings, for a standalone server, a Redis Cluster (the client
 * learns the slots from the seed nodes and follows MOVED and failovers) or a Sentinel-watched
 * master (the client asks the Sentinels where the master is, and again after a failover). A {@code
 * rediss://} URL speaks TLS, trusting the JVM's CAs and, if set, {@code SPOOL_REDIS_CA_FILE}'s.
 */
public final class RedisClients {
  /** How long the cluster client keeps its slot map before asking again (the Vert.x default). */
  private static final long TOPOLOGY_TTL_MILLIS = 1000;

  private static final Logger log = LoggerFactory.getLogger(RedisClients.class);

  private RedisClients() {}

  /**
   * A pooled client for short commands; blocking reads take a connection of their own. On a
   * cluster, {@code poolSize} is per node.
   */
  public static Redis client(Vertx vertx, SpoolConfig config, int poolSize) {
    Redis client = Redis.createClient(vertx, options(config, poolSize));
    return config.redis().mode() == SpoolConfig.RedisMode.CLUSTER
        ? new SharedConnection(client)
        : client;
  }

  /**
   * Closes a connection that broke. A cluster connection hands each node's connection back to the
   * pool, and the Vert.x pool refuses (throws) one it already dropped when its node went away: that
   * must not stop the caller from connecting again.
   */
  public static void closeQuietly(RedisConnection connection) {
    try {
      connection.close();
    } catch (RuntimeException e) {
      log.debug("closing a broken Redis connection: {}", e.toString());
    }
  }

  static RedisOptions options(SpoolConfig config, int poolSize) {
    SpoolConfig.Redis redis = config.redis();
    var options =
        new RedisOptions()
            .setMaxPoolSize(poolSize)
            .setMaxPoolWaiting(100_000)
            .setMaxWaitingHandlers(100_000);
    redis.urls().forEach(options::addConnectionString);
    switch (redis.mode()) {
      case STANDALONE -> options.setType(RedisClientType.STANDALONE);
      case CLUSTER ->
          options
              .setType(RedisClientType.CLUSTER)
              .setUseReplicas(RedisReplicas.NEVER)
              .setTopologyCacheTTL(TOPOLOGY_TTL_MILLIS);
      case SENTINEL ->
          options
              .setType(RedisClientType.SENTINEL)
              .setMasterName(redis.master())
              .setRole(RedisRole.MASTER)
              .setAutoFailover(true);
    }
    if (redis.caFile() != null) {
      options.setNetClientOptions(
          new NetClientOptions()
              .setTrustOptions(new PemTrustOptions().addCertPath(redis.caFile()))
              .setHostnameVerificationAlgorithm("HTTPS"));
    }
    return options;
  }
}
