package io.spool.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spool.config.SpoolConfig;
import io.spool.model.JobEvent;
import io.spool.model.JobJson;
import io.spool.signal.JobEvents;
import io.spool.signal.JobEvents.NewEvent;
import io.spool.signal.RedisClients;
import io.spool.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Redis;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Coalesced handler events against the real Redis: same text, same order, fewer writes. */
class EventWriterTest {
  static SpoolConfig config;
  static Vertx vertx;
  static Redis redis;
  static JobEvents events;

  @BeforeAll
  static void start() {
    config = TestServices.isolatedConfig(EventWriterTest.class);
    vertx = Vertx.vertx();
    redis = RedisClients.client(vertx, config, 2);
    events = new JobEvents(redis, config.keys(), Duration.ofSeconds(60), 10_000);
  }

  @AfterAll
  static void stop() {
    TestServices.cleanUp(config);
    vertx.close().await();
  }

  private static NewEvent text(UUID job, String text) {
    return new NewEvent(
        job, JobEvent.OUTPUT, 1, JobJson.MAPPER.createObjectNode().put("text", text));
  }

  private static String texts(List<JobEvent> log) {
    return log.stream()
        .filter(e -> e.type().equals(JobEvent.OUTPUT))
        .map(e -> e.data().get("text").asText())
        .collect(Collectors.joining());
  }

  @Test
  void aStreamOfDeltasIsLoggedAsFewerOutputEventsWithTheSameTextInOrder() throws Exception {
    UUID job = UUID.randomUUID();
    var writer =
        new EventWriter(
            new EventBatcher(events, vertx.getOrCreateContext()), vertx, Duration.ofMillis(40));
    var sent = new StringBuilder();
    long start = System.nanoTime();
    // 200 deltas at about one per 2 ms, as a fast model streams; a progress event halfway.
    Thread.ofVirtual()
        .start(
            () -> {
              for (int i = 0; i < 200; i++) {
                String delta = "d" + i + (i % 7 == 0 ? " ünï \"q\"\n" : " ");
                sent.append(delta);
                writer.emit(text(job, delta));
                if (i == 100) {
                  writer.emit(
                      new NewEvent(
                          job,
                          JobEvent.PROGRESS,
                          1,
                          JobJson.MAPPER.createObjectNode().put("half", true)));
                }
                try {
                  Thread.sleep(2);
                } catch (InterruptedException e) {
                  return;
                }
              }
            })
        .join();
    writer.drain().await();
    double seconds = (System.nanoTime() - start) / 1e9;

    List<JobEvent> log = events.since(job, 0).await();
    assertEquals(sent.toString(), texts(log), "the deltas' text, whole and in order");
    long outputs = log.stream().filter(e -> e.type().equals(JobEvent.OUTPUT)).count();
    // At most one write per 40 ms window (plus the first, and the split around the progress event).
    assertTrue(outputs <= seconds * 1000 / 40 + 3, outputs + " output events in " + seconds + " s");
    assertTrue(outputs < 200, "deltas were joined: " + outputs + " output events");
    // The progress event sits between the text before it and the text after it.
    int progressAt = 0;
    while (!log.get(progressAt).type().equals(JobEvent.PROGRESS)) {
      progressAt++;
    }
    String before = texts(log.subList(0, progressAt));
    assertTrue(
        before.endsWith("d100 "),
        "text up to delta 100 precedes the progress event: ..."
            + before.substring(Math.max(0, before.length() - 20)));
    // Seqs rise by one, and a client resuming after any event reads the rest of the text.
    for (int i = 0; i < log.size(); i++) {
      assertEquals(i + 1, log.get(i).seq());
    }
    long resumeAfter = log.get(log.size() / 2).seq();
    String rest = texts(events.since(job, resumeAfter).await());
    assertEquals(texts(log.subList(log.size() / 2 + 1, log.size())), rest);
    assertTrue(sent.toString().endsWith(rest));
  }

  @Test
  void eventsOtherThanTextAreNeverJoinedOrDropped() throws Exception {
    UUID job = UUID.randomUUID();
    var writer =
        new EventWriter(
            new EventBatcher(events, vertx.getOrCreateContext()), vertx, Duration.ofMillis(40));
    Thread.ofVirtual()
        .start(
            () -> {
              for (int i = 0; i < 50; i++) {
                writer.emit(
                    new NewEvent(
                        job,
                        JobEvent.PROGRESS,
                        1,
                        JobJson.MAPPER.createObjectNode().put("step", i)));
                // An output event with more than text is kept as it is.
                writer.emit(
                    new NewEvent(
                        job,
                        JobEvent.OUTPUT,
                        1,
                        JobJson.MAPPER.createObjectNode().put("text", "t").put("i", i)));
              }
            })
        .join();
    writer.drain().await();
    List<JobEvent> log = events.since(job, 0).await();
    assertEquals(100, log.size());
    for (int i = 0; i < 50; i++) {
      assertEquals(i, log.get(2 * i).data().get("step").asInt());
      assertEquals(i, log.get(2 * i + 1).data().get("i").asInt());
    }
  }

  @Test
  void theFirstEventGoesAtOnceAndTheNextAfterTheWindow() throws Exception {
    UUID job = UUID.randomUUID();
    var writer =
        new EventWriter(
            new EventBatcher(events, vertx.getOrCreateContext()), vertx, Duration.ofSeconds(2));
    writer.emit(text(job, "first "));
    io.spool.testing.Eventually.await(
        "the first event logged",
        Duration.ofMillis(500),
        () -> texts(events.since(job, 0).await()).equals("first "));
    writer.emit(text(job, "second"));
    Thread.sleep(500);
    assertEquals("first ", texts(events.since(job, 0).await()), "the second waits for the window");
    writer.drain().await();
    assertEquals("first second", texts(events.since(job, 0).await()));
  }

  @Test
  void manyJobsSharingOneBatcherEachGetTheirWholeTextInOrder() throws Exception {
    var batcher = new EventBatcher(events, vertx.getOrCreateContext());
    int jobs = 200;
    var ids = new java.util.ArrayList<UUID>();
    var threads = new java.util.ArrayList<Thread>();
    var writers = new java.util.ArrayList<EventWriter>();
    for (int j = 0; j < jobs; j++) {
      UUID job = UUID.randomUUID();
      ids.add(job);
      var writer = new EventWriter(batcher, vertx, Duration.ofMillis(5));
      writers.add(writer);
      threads.add(
          Thread.ofVirtual()
              .start(
                  () -> {
                    for (int i = 0; i < 100; i++) {
                      writer.emit(text(job, i + " "));
                      if (i % 10 == 0) {
                        writer.emit(
                            new NewEvent(
                                job,
                                JobEvent.PROGRESS,
                                1,
                                JobJson.MAPPER.createObjectNode().put("step", i)));
                      }
                      try {
                        Thread.sleep(1);
                      } catch (InterruptedException e) {
                        return;
                      }
                    }
                  }));
    }
    for (Thread thread : threads) {
      thread.join();
    }
    for (EventWriter writer : writers) {
      writer.drain().await();
    }
    String expected =
        java.util.stream.IntStream.range(0, 100)
            .mapToObj(i -> i + " ")
            .collect(Collectors.joining());
    for (UUID job : ids) {
      List<JobEvent> log = events.since(job, 0).await();
      assertEquals(expected, texts(log), "job " + job);
      List<Integer> steps =
          log.stream()
              .filter(e -> e.type().equals(JobEvent.PROGRESS))
              .map(e -> e.data().get("step").asInt())
              .toList();
      assertEquals(
          java.util.stream.IntStream.range(0, 10).map(i -> i * 10).boxed().toList(), steps);
      for (int i = 0; i < log.size(); i++) {
        assertEquals(i + 1, log.get(i).seq(), "seqs rise by one");
      }
    }
  }
}
