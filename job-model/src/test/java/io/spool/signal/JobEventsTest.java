package io.spool.signal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spool.config.SpoolConfig;
import io.spool.model.JobEvent;
import io.spool.model.JobIds;
import io.spool.model.JobJson;
import io.spool.model.JobStatus;
import io.spool.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The event log's script against the real Redis, each branch on its own. */
class JobEventsTest {
  static SpoolConfig config;
  static Vertx vertx;
  static Redis redis;
  static JobEvents events;

  @BeforeAll
  static void start() {
    config = TestServices.isolatedConfig(JobEventsTest.class);
    vertx = Vertx.vertx();
    redis = RedisClients.client(vertx, config, 2);
    // Retention 60 s, at most 5 events kept per job.
    events = new JobEvents(redis, config.keys(), Duration.ofSeconds(60), 5);
  }

  @AfterAll
  static void stop() {
    TestServices.cleanUp(config);
    vertx.close().await();
  }

  private static JobEvents.NewEvent progress(UUID job, int step) {
    return new JobEvents.NewEvent(
        job, "progress", 1, JobJson.MAPPER.createObjectNode().put("step", step));
  }

  @Test
  void numbersEventsInOrderAndAnswersThoseAfterASeq() {
    UUID job = JobIds.next();
    events.emit(List.of(progress(job, 1), progress(job, 2))).await();
    events.emit(progress(job, 3)).await();
    var all = events.since(job, 0).await();
    assertEquals(List.of(1L, 2L, 3L), all.stream().map(JobEvent::seq).toList());
    assertEquals(3, all.get(2).data().get("step").asInt());
    assertEquals(List.of(3L), events.since(job, 2).await().stream().map(JobEvent::seq).toList());
  }

  @Test
  void keepsOnlyTheNewestEventsUpToTheCap() {
    UUID job = JobIds.next();
    var many = new ArrayList<JobEvents.NewEvent>();
    for (int i = 1; i <= 8; i++) {
      many.add(progress(job, i));
    }
    events.emit(many).await();
    assertEquals(
        List.of(4L, 5L, 6L, 7L, 8L),
        events.since(job, 0).await().stream().map(JobEvent::seq).toList());
  }

  @Test
  void aLogLivesAWeekUntilItsJobEndsThenTheRetention() {
    UUID job = JobIds.next();
    events.emit(progress(job, 1)).await();
    long unended =
        redis.send(Request.cmd(Command.TTL).arg(config.keys().jobEvents(job))).await().toLong();
    assertTrue(
        unended > 6 * 24 * 3600, "a log of a running job expires in a week, not " + unended + " s");
    events.emit(JobEvents.statusChange(job, JobStatus.COMPLETED, 1)).await();
    for (String key : List.of(config.keys().jobEvents(job), config.keys().jobEventSeq(job))) {
      long ttl = redis.send(Request.cmd(Command.TTL).arg(key)).await().toLong();
      assertTrue(
          ttl > 0 && ttl <= 60,
          key + " expires with the retention after the end, not in " + ttl + " s");
    }
  }

  @Test
  void theIdsOfEndedJobsAreAnnouncedOnceACall() throws Exception {
    var announced = new LinkedBlockingQueue<String>();
    var subscribed = new java.util.concurrent.CompletableFuture<Void>();
    var subscriber = RedisClients.client(vertx, config, 1).connect().await();
    subscriber.handler(
        message -> {
          if (message.size() == 3 && "message".equals(message.get(0).toString())) {
            announced.add(message.get(2).toString());
          } else if (message.size() == 3 && "subscribe".equals(message.get(0).toString())) {
            subscribed.complete(null);
          }
        });
    subscriber.send(Request.cmd(Command.SUBSCRIBE).arg(config.keys().endedChannel())).await();
    subscribed.get(5, TimeUnit.SECONDS);
    UUID running = JobIds.next();
    UUID done = JobIds.next();
    UUID failed = JobIds.next();
    var batch = new ArrayList<JobEvents.NewEvent>();
    batch.addAll(JobEvents.statusChange(running, JobStatus.RUNNING, 1));
    batch.addAll(JobEvents.statusChange(done, JobStatus.COMPLETED, 1));
    batch.addAll(JobEvents.statusChange(failed, JobStatus.FAILED, 3));
    events.emit(batch).await();
    assertEquals(done + " " + failed, announced.poll(5, TimeUnit.SECONDS));
    events.emit(progress(running, 1)).await();
    assertEquals(null, announced.poll(300, TimeUnit.MILLISECONDS), "progress is not an end");
    subscriber.close();
  }
}
