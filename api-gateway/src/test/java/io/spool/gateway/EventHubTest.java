package io.spool.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.spool.config.SpoolConfig;
import io.spool.model.JobIds;
import io.spool.model.JobStatus;
import io.spool.signal.JobEvents;
import io.spool.signal.RedisClients;
import io.spool.testing.TcpProxy;
import io.spool.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The gateway's one Redis subscription, against the real Redis. */
class EventHubTest {
  private static SpoolConfig config;
  private static Vertx vertx;
  private static TcpProxy slowLink;

  /** Redis through {@link #slowLink}, which holds each command sent for 300 ms. */
  private static SpoolConfig slowConfig;

  private static Redis publisher;

  @BeforeAll
  static void start() {
    config = TestServices.isolatedConfig(EventHubTest.class);
    URI redis = URI.create(config.redis().url());
    slowLink = TcpProxy.to(redis.getHost(), redis.getPort());
    slowLink.delayToTarget(Duration.ofMillis(300));
    vertx = Vertx.vertx();
    var env = new HashMap<>(TestServices.isolatedEnv(EventHubTest.class));
    env.put(
        "SPOOL_REDIS_URL",
        "redis://127.0.0.1:" + slowLink.port() + (redis.getPath() == null ? "" : redis.getPath()));
    slowConfig = SpoolConfig.fromEnv(env);
    publisher = RedisClients.client(vertx, config, 1);
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
    slowLink.close();
  }

  /**
   * A long-poll or a WebSocket subscribes, then reads the job's state or log, then relies on the
   * subscription for what comes after. If listening counted as done once the SUBSCRIBE was written,
   * an event published before Redis read that SUBSCRIBE would be lost: here the subscriber's link
   * holds each command for 300 ms, and the event is published the moment listen() says it is in
   * place.
   */
  @Test
  void anEventPublishedAsSoonAsListenCompletesIsDelivered() throws Exception {
    var hub = slowHub();
    for (int i = 0; i < 3; i++) {
      UUID job = JobIds.next();
      var received = new CompletableFuture<String>();
      var registration = hub.listen(job, frame -> received.complete(frame.event().type())).await();
      String end = JobEvents.wireJson(job, 1, "end", 1, Instant.now().toString(), "null");
      publisher
          .send(Request.cmd(Command.PUBLISH).arg(config.keys().jobEventChannel(job)).arg(end))
          .await();
      assertEquals(
          "end",
          received.get(5, TimeUnit.SECONDS),
          "the end event of job " + job + " reached its listener");
      registration.close();
    }
  }

  /**
   * Long-polls share the channel announcing ended jobs: a waiter is woken by its own job's end,
   * written through the event log's script, and by nothing else (another job's end, its own job's
   * progress), even when it starts waiting the moment before the end is written.
   */
  @Test
  void aWaiterIsWokenByItsOwnJobsEndOnly() throws Exception {
    var hub = slowHub();
    var events = JobEvents.of(publisher, config);
    UUID mine = JobIds.next();
    UUID other = JobIds.next();
    var mineEnded = new CompletableFuture<Void>();
    var otherEnded = new CompletableFuture<Void>();
    var mineWait = hub.awaitEnd(mine, () -> mineEnded.complete(null)).await();
    hub.awaitEnd(other, () -> otherEnded.complete(null)).await();

    events.emit(JobEvents.statusChange(mine, JobStatus.RUNNING, 1)).await();
    events.emit(JobEvents.statusChange(other, JobStatus.COMPLETED, 1)).await();
    otherEnded.get(5, TimeUnit.SECONDS);
    assertFalse(mineEnded.isDone(), "woken by its job's progress or by another job's end");

    events.emit(JobEvents.statusChange(mine, JobStatus.FAILED, 1)).await();
    mineEnded.get(5, TimeUnit.SECONDS);
    mineWait.close();
  }

  /**
   * A hub whose subscriber connection goes through the slow link (a client of its own: the pool
   * holds one).
   */
  private static EventHub slowHub() {
    return new EventHub(vertx, RedisClients.client(vertx, slowConfig, 1), config.keys());
  }
}
