package io.spool.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.spool.model.JobEvents;
import io.spool.model.JobIds;
import io.spool.model.RedisClients;
import io.spool.model.SpoolConfig;
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

  @BeforeAll
  static void start() {
    config = TestServices.isolatedConfig(EventHubTest.class);
    URI redis = URI.create(config.redisUrl());
    slowLink = TcpProxy.to(redis.getHost(), redis.getPort());
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
    slowLink.close();
  }

  /**
   * A long-poll or a WebSocket subscribes, then reads the job's state or log, then relies on the
   * subscription for what comes after. If listening counted as done once the SUBSCRIBE was written,
   * an event published before Redis read that SUBSCRIBE would be lost: here the subscriber's link holds
   * each command for 300 ms, and the event is published the moment listen() says it is in place.
   */
  @Test
  void anEventPublishedAsSoonAsListenCompletesIsDelivered() throws Exception {
    slowLink.delayToTarget(Duration.ofMillis(300));
    var env = new HashMap<>(TestServices.isolatedEnv(EventHubTest.class));
    URI redis = URI.create(config.redisUrl());
    env.put("SPOOL_REDIS_URL", "redis://127.0.0.1:" + slowLink.port() + (redis.getPath() == null ? "" : redis.getPath()));
    Redis subscriber = RedisClients.client(vertx, SpoolConfig.fromEnv(env), 1);
    Redis publisher = RedisClients.client(vertx, config, 1);
    var hub = new EventHub(vertx, subscriber, config.keys());
    for (int i = 0; i < 3; i++) {
      UUID job = JobIds.next();
      var received = new CompletableFuture<String>();
      var registration = hub.listen(job, frame -> received.complete(frame.event().type())).await();
      String end = JobEvents.wireJson(job, 1, "end", 1, Instant.now().toString(), "null");
      publisher.send(Request.cmd(Command.PUBLISH).arg(config.keys().jobEventChannel(job)).arg(end)).await();
      assertEquals("end", received.get(5, TimeUnit.SECONDS), "the end event of job " + job + " reached its listener");
      registration.close();
    }
  }
}
