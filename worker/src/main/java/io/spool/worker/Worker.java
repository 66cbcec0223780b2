package io.spool.worker;

import io.spool.model.JobSql;
import io.spool.model.Migrations;
import io.spool.model.PgClients;
import io.spool.model.RedisClients;
import io.spool.model.SpoolConfig;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.sqlclient.Tuple;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A running worker process: the composition root of the worker daemon. */
public final class Worker implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Worker.class);
  /** Pooled Redis connections for acks and signals; the fetcher's blocking read has one more. */
  private static final int REDIS_POOL_SIZE = 4;

  private final Vertx vertx;
  private final String id;

  private Worker(Vertx vertx, String id) {
    this.vertx = vertx;
    this.id = id;
  }

  /** Migrates, registers its job types, and starts the slots and the fetcher; blocks until running. */
  public static Worker start(SpoolConfig config) {
    Migrations.apply(config);
    HandlerRegistry handlers = HandlerRegistry.load();
    String id = newWorkerId();
    Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
    try {
      var pg = PgClients.client(vertx, config);
      var redis = RedisClients.client(vertx, config, REDIS_POOL_SIZE);
      pg.preparedQuery(JobSql.REGISTER_TYPES).execute(Tuple.of((Object) handlers.types().toArray(String[]::new)))
          .await(30, TimeUnit.SECONDS);
      var dispatcher = new JobDispatcher();
      var acks = new StreamAcks(redis);
      // The finisher's batches live on one event-loop context of their own.
      var finisher = new AttemptFinisher(vertx.getOrCreateContext(), pg, acks);
      var runner = new JobRunner(handlers, finisher);
      var virtual = new DeploymentOptions().setThreadingModel(ThreadingModel.VIRTUAL_THREAD);
      vertx.deployVerticle(() -> new JobSlot(dispatcher, runner), new DeploymentOptions(virtual)
          .setInstances(config.workerConcurrency())).await(60, TimeUnit.SECONDS);
      // The blocking XREADGROUP gets a client of its own, never a connection of the shared pool.
      var blockingRedis = RedisClients.client(vertx, config, 1);
      vertx.deployVerticle(new StreamFetcher(blockingRedis, redis, pg, config.keys(), config.queues(), id, dispatcher, acks), virtual)
          .await(30, TimeUnit.SECONDS);
      log.info("worker {} running {} slots on queues {} with job types {}", id, config.workerConcurrency(),
          config.queues(), handlers.types());
      return new Worker(vertx, id);
    } catch (Exception e) {
      vertx.close();
      throw new IllegalStateException("worker failed to start: " + e.getMessage(), e);
    }
  }

  public String id() {
    return id;
  }

  @Override
  public void close() {
    try {
      vertx.close().await(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      log.warn("worker did not close cleanly: {}", e.toString());
    }
  }

  /** host-pid-random: unique across restarts, and says where to look. */
  private static String newWorkerId() {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (Exception e) {
      host = "unknown";
    }
    String pid = ManagementFactory.getRuntimeMXBean().getName().split("@")[0];
    return host + "-" + pid + "-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 24), 36);
  }
}
