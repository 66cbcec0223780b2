package io.spool.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spool.client.Job;
import io.spool.client.JobEvent;
import io.spool.client.JobPage;
import io.spool.client.JobQuery;
import io.spool.client.JobRequest;
import io.spool.client.JobRequest.ConcurrencyStrategy;
import io.spool.client.JobSubscription;
import io.spool.client.MultiJobSubscription;
import io.spool.client.SpoolClient;
import io.spool.client.SpoolException;
import io.spool.client.Submission;
import io.spool.client.examples.ClientExample;
import io.spool.config.SpoolConfig;
import io.spool.gateway.Gateway;
import io.spool.testing.Eventually;
import io.spool.testing.TcpProxy;
import io.spool.testing.TestServices;
import io.spool.worker.Worker;
import io.vertx.core.Future;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Java client against a real gateway and worker: submission, errors, waiting, following and
 * resuming.
 */
class ClientTest {
  /** A queue no worker consumes: its jobs stay pending. */
  static final String IDLE_QUEUE = "nobody-listens";

  static final long AWAIT_SECS = 60;

  /** Far longer than a GET takes here: a call not answered within it never will be. */
  static final long ANSWER_SECS = 5;

  static final int CALLER_THREADS = 4;
  static final int CALLS_PER_THREAD = 8000;

  static SpoolConfig config;
  static Gateway gateway;
  static Worker worker;
  static String base;
  static SpoolClient client;

  @BeforeAll
  static void start() {
    Map<String, String> env = TestServices.isolatedEnv(ClientTest.class);
    env.put("SPOOL_HTTP_PORT", String.valueOf(ProcessCluster.freePort()));
    env.put("SPOOL_SHUTDOWN_GRACE_SECS", "1");
    env.put("SPOOL_WEBHOOK_ALLOWED_HOSTS", "hooks.test");
    config = SpoolConfig.fromEnv(env);
    gateway = Gateway.start(config);
    worker = Worker.start(config);
    base = "http://127.0.0.1:" + config.gateway().port();
    client = SpoolClient.create(base);
  }

  @AfterAll
  static void stop() {
    client.close().await();
    worker.close();
    gateway.close();
    TestServices.cleanUp(config);
  }

  private static <T> T await(Future<T> future) throws Exception {
    return future.await(AWAIT_SECS, TimeUnit.SECONDS);
  }

  /** The job's checkpoint, or null before its first. */
  private static com.fasterxml.jackson.databind.JsonNode checkpointOf(UUID id) {
    try {
      return await(client.get(id)).checkpoint();
    } catch (Exception e) {
      throw new AssertionError("GET /v1/jobs/" + id + " failed", e);
    }
  }

  private static JobRequest sleep(long ms, int steps) {
    return JobRequest.builder("sleep").request(Map.of("ms", ms, "steps", steps)).build();
  }

  @Test
  void echoJobIsSubmittedAndAwaitedToItsResult() throws Exception {
    Submission submitted =
        await(client.submit(JobRequest.builder("echo").request(Map.of("text", "hello")).build()));
    assertFalse(submitted.replayed());
    assertEquals(Job.Status.PENDING, submitted.job().status());
    Job done = await(client.waitFor(submitted.job().id(), Duration.ofSeconds(30)));
    assertEquals(Job.Status.COMPLETED, done.status());
    assertEquals("hello", done.result().get("text").asText());
    assertNotNull(done.finishedAt());
  }

  @Test
  void sleepJobIsAwaitedUntilItCompletes() throws Exception {
    Job job = await(client.submit(sleep(1500, 3))).job();
    Job done = await(client.waitFor(job.id(), Duration.ofSeconds(30)));
    assertEquals(Job.Status.COMPLETED, done.status());
    assertEquals(1500, done.result().get("slept_ms").asInt());
    assertEquals(3, done.checkpoint().get("steps_done").asInt());
  }

  /**
   * Calls from several plain threads at once, many of them, each answered: none may hang because
   * its response ended before the client asked for the body (as one call in about ten thousand
   * did).
   */
  @Test
  void everyCallFromManyThreadsIsAnswered() throws Exception {
    UUID known =
        await(client.submit(JobRequest.builder("echo").queue(IDLE_QUEUE).build())).job().id();
    var unanswered = new CopyOnWriteArrayList<String>();
    try (var callers = Executors.newFixedThreadPool(CALLER_THREADS)) {
      for (int t = 0; t < CALLER_THREADS; t++) {
        callers.submit(
            () -> {
              for (int i = 0; i < CALLS_PER_THREAD && unanswered.isEmpty(); i++) {
                // Alternately a 200 and a 404 answer.
                UUID id = i % 2 == 0 ? known : UUID.randomUUID();
                try {
                  client.get(id).await(ANSWER_SECS, TimeUnit.SECONDS);
                } catch (SpoolException notFound) {
                  // the 404, answered
                } catch (TimeoutException e) {
                  unanswered.add(
                      "GET /v1/jobs/"
                          + id
                          + " (call "
                          + i
                          + " on "
                          + Thread.currentThread().getName()
                          + ")");
                }
              }
              return null;
            });
      }
    }
    assertEquals(List.of(), unanswered, "no answer within " + ANSWER_SECS + " s");
  }

  @Test
  void waitForAnswersTheUnfinishedJobWhenTimeRunsOut() throws Exception {
    Job job = await(client.submit(JobRequest.builder("echo").queue(IDLE_QUEUE).build())).job();
    Job still = await(client.waitFor(job.id(), Duration.ofSeconds(1)));
    assertEquals(Job.Status.PENDING, still.status());
  }

  @Test
  void pendingJobIsCancelledAndAFinishedOneCannotBe() throws Exception {
    Job job = await(client.submit(JobRequest.builder("echo").queue(IDLE_QUEUE).build())).job();
    assertEquals(Job.Status.CANCELLED, await(client.cancel(job.id())).status());
    var again = assertThrows(SpoolException.class, () -> await(client.cancel(job.id())));
    assertEquals(409, again.status());
  }

  @Test
  void everyRequestFieldReachesTheJob() throws Exception {
    Instant runAt = Instant.now().plus(1, ChronoUnit.HOURS).truncatedTo(ChronoUnit.SECONDS);
    JobRequest request =
        JobRequest.builder("echo")
            .request(Map.of("n", 1))
            .queue(IDLE_QUEUE)
            .maxAttempts(7)
            .priority(-5)
            .runAt(runAt)
            .timeoutSecs(90)
            .retentionSecs(7200)
            .callbackUrl("https://hooks.test/done")
            .concurrencyKey("conversation-" + UUID.randomUUID())
            .concurrencyStrategy(ConcurrencyStrategy.REJECT)
            .idempotencyKey(UUID.randomUUID().toString())
            .build();
    Job job = await(client.submit(request)).job();
    assertEquals(IDLE_QUEUE, job.queue());
    assertEquals(7, job.maxAttempts());
    assertEquals(-5, job.priority());
    assertEquals(runAt, job.runAt());
    assertEquals(90, job.timeoutSecs());
    assertEquals(7200, job.retentionSecs());
    assertEquals("https://hooks.test/done", job.callbackUrl());
    assertTrue(job.concurrencyKey().startsWith("conversation-"));
    assertEquals(1, job.request().get("n").asInt());
    assertNull(job.result());

    Job delayed =
        await(client.submit(JobRequest.builder("echo").queue(IDLE_QUEUE).delaySecs(600).build()))
            .job();
    assertTrue(delayed.runAt().isAfter(delayed.submittedAt().plusSeconds(590)), delayed.toString());
  }

  @Test
  void batchAnswersEveryJobInOrder() throws Exception {
    var requests = new ArrayList<JobRequest>();
    for (int i = 0; i < 5; i++) {
      requests.add(JobRequest.builder("echo").request(Map.of("i", i)).build());
    }
    List<Job> jobs = await(client.submitBatch(requests));
    assertEquals(5, jobs.size());
    for (int i = 0; i < 5; i++) {
      assertEquals(i, jobs.get(i).request().get("i").asInt());
      assertEquals(
          Job.Status.COMPLETED,
          await(client.waitFor(jobs.get(i).id(), Duration.ofSeconds(30))).status());
    }
  }

  @Test
  void invalidBatchIsRefusedWhole() throws Exception {
    var requests =
        List.of(JobRequest.builder("echo").build(), JobRequest.builder("no-such-type").build());
    var refused = assertThrows(SpoolException.class, () -> await(client.submitBatch(requests)));
    assertEquals(422, refused.status());
    assertEquals("jobs[1].type", refused.problem().errors().get(0).field());
  }

  @Test
  void sameIdempotencyKeyReplaysTheFirstJobAndADifferentRequestConflicts() throws Exception {
    String key = "order-" + UUID.randomUUID();
    JobRequest request =
        JobRequest.builder("echo").request(Map.of("order", 42)).idempotencyKey(key).build();
    Submission first = await(client.submit(request));
    Submission second = await(client.submit(request));
    assertFalse(first.replayed());
    assertTrue(second.replayed());
    assertEquals(first.job().id(), second.job().id());

    JobRequest other =
        JobRequest.builder("echo").request(Map.of("order", 43)).idempotencyKey(key).build();
    var conflict = assertThrows(SpoolException.class, () -> await(client.submit(other)));
    assertEquals(409, conflict.status());
  }

  @Test
  void unknownTypeIsAValidationProblem() {
    var refused =
        assertThrows(
            SpoolException.class,
            () -> await(client.submit(JobRequest.builder("no-such-type").build())));
    assertEquals(422, refused.status());
    assertEquals("urn:spool:problem:validation", refused.problem().type());
    assertEquals("type", refused.problem().errors().get(0).field());
    assertTrue(refused.problem().detail().contains("no-such-type"), refused.problem().detail());
    assertFalse(refused.isTransient());
  }

  @Test
  void unknownJobIsNotFound() {
    var missing = assertThrows(SpoolException.class, () -> await(client.get(UUID.randomUUID())));
    assertEquals(404, missing.status());
    assertEquals("urn:spool:problem:not-found", missing.problem().type());
  }

  @Test
  void listingPagesThroughJobsNewestFirst() throws Exception {
    UUID older =
        await(client.submit(JobRequest.builder("echo").queue(IDLE_QUEUE).build())).job().id();
    UUID newer =
        await(client.submit(JobRequest.builder("echo").queue(IDLE_QUEUE).build())).job().id();
    JobPage first =
        await(client.list(JobQuery.all().status(Job.Status.PENDING).type("echo").limit(1)));
    assertEquals(List.of(newer), first.jobs().stream().map(Job::id).toList());
    assertNotNull(first.nextCursor());
    JobPage second =
        await(
            client.list(
                JobQuery.all()
                    .status(Job.Status.PENDING)
                    .type("echo")
                    .limit(1)
                    .after(first.nextCursor())));
    assertEquals(List.of(older), second.jobs().stream().map(Job::id).toList());
  }

  /** What a follower received, and its subscription. */
  record Followed(List<JobEvent> events, JobSubscription subscription) {
    List<Long> seqs() {
      return events.stream().map(JobEvent::seq).toList();
    }

    List<String> kinds() {
      return ClientTest.kinds(events);
    }
  }

  /** {@code status:running}, {@code progress:1}, {@code checkpoint}, ... */
  static List<String> kinds(List<JobEvent> events) {
    return events.stream()
        .map(
            e ->
                switch (e.type()) {
                  case JobEvent.STATUS -> "status:" + e.data().get("status").asText();
                  case JobEvent.PROGRESS -> "progress:" + e.data().get("step").asInt();
                  default -> e.type();
                })
        .toList();
  }

  private static Followed follow(SpoolClient via, UUID id, long afterSeq) {
    var events = new CopyOnWriteArrayList<JobEvent>();
    return new Followed(events, via.follow(id, afterSeq, events::add));
  }

  private static List<String> sleepEvents(int steps) {
    var kinds = new ArrayList<String>(List.of("status:running"));
    for (int step = 1; step <= steps; step++) {
      kinds.add("progress:" + step);
      kinds.add("checkpoint");
    }
    kinds.addAll(List.of("status:completed", "end"));
    return kinds;
  }

  @Test
  void followDeliversEveryEventInOrderThenEndsWithTheFinalJob() throws Exception {
    Job job = await(client.submit(sleep(600, 3))).job();
    Followed followed = follow(client, job.id(), 0);
    Job done = await(followed.subscription().finished());
    assertEquals(Job.Status.COMPLETED, done.status());
    assertEquals(job.id(), done.id());
    assertEquals(sleepEvents(3), followed.kinds());
    assertEquals(
        followed.seqs().stream().sorted().distinct().toList(),
        followed.seqs(),
        "in order, each once");
    JobEvent end = followed.events().getLast();
    assertTrue(end.isEnd());
    assertEquals(
        job.id().toString(), end.data().get("id").asText(), "the end event carries the final job");
    assertEquals(0, followed.subscription().reconnects());
  }

  @Test
  void followAfterASeqGetsOnlyTheLaterEvents() throws Exception {
    Job job = await(client.submit(sleep(30, 2))).job();
    Followed all = follow(client, job.id(), 0);
    await(all.subscription().finished());
    long after = all.seqs().get(2);
    Followed rest = follow(client, job.id(), after);
    await(rest.subscription().finished());
    assertEquals(all.seqs().subList(3, all.seqs().size()), rest.seqs());
  }

  @Test
  void followOfAnUnknownJobFailsWithNotFound() {
    Followed followed = follow(client, UUID.randomUUID(), 0);
    var missing =
        assertThrows(SpoolException.class, () -> await(followed.subscription().finished()));
    assertEquals(404, missing.status());
    assertTrue(followed.events().isEmpty());
  }

  @Test
  void followResumesAfterTheConnectionIsCutAndLosesOrRepeatsNothing() throws Exception {
    try (var proxy = TcpProxy.to("127.0.0.1", config.gateway().port())) {
      SpoolClient viaProxy = SpoolClient.create("http://127.0.0.1:" + proxy.port());
      try {
        int steps = 6;
        Job job = await(client.submit(sleep(3000, steps))).job();
        var firstProgress = new CompletableFuture<Void>();
        var events = new CopyOnWriteArrayList<JobEvent>();
        JobSubscription subscription =
            viaProxy.follow(
                job.id(),
                0,
                event -> {
                  events.add(event);
                  if (event.type().equals(JobEvent.PROGRESS)) {
                    firstProgress.complete(null);
                  }
                });
        firstProgress.get(AWAIT_SECS, TimeUnit.SECONDS);
        proxy.cut();
        // The job goes on while the follower is cut off: those events can only arrive by resuming.
        Eventually.await(
            "the job checkpointed two more steps",
            Duration.ofSeconds(30),
            () -> {
              var checkpoint = checkpointOf(job.id());
              return checkpoint != null && checkpoint.get("steps_done").asInt() >= 3;
            });
        proxy.restore();
        Job done = await(subscription.finished());

        assertEquals(Job.Status.COMPLETED, done.status());
        assertTrue(subscription.reconnects() >= 1, "the connection was made again");
        var followed = new Followed(events, subscription);
        assertEquals(sleepEvents(steps), followed.kinds());
        Followed log = follow(client, job.id(), 0);
        await(log.subscription().finished());
        assertEquals(log.seqs(), followed.seqs(), "the same events as the whole log, each once");
      } finally {
        viaProxy.close().await();
      }
    }
  }

  @Test
  void followResumesAcrossAGatewayRestart() throws Exception {
    int steps = 5;
    Job job = await(client.submit(sleep(2500, steps))).job();
    var secondProgress = new CompletableFuture<Void>();
    var events = new CopyOnWriteArrayList<JobEvent>();
    JobSubscription subscription =
        client.follow(
            job.id(),
            0,
            event -> {
              events.add(event);
              if (event.type().equals(JobEvent.PROGRESS) && event.data().get("step").asInt() == 2) {
                secondProgress.complete(null);
              }
            });
    secondProgress.get(AWAIT_SECS, TimeUnit.SECONDS);
    gateway.close();
    gateway = Gateway.start(config);
    Job done = await(subscription.finished());

    assertEquals(Job.Status.COMPLETED, done.status());
    assertTrue(subscription.reconnects() >= 1, "the connection was made again");
    var followed = new Followed(events, subscription);
    assertEquals(sleepEvents(steps), followed.kinds());
    assertEquals(
        followed.seqs().stream().sorted().distinct().toList(),
        followed.seqs(),
        "in order, each once");
  }

  @Test
  void oneSocketFollowsSeveralJobsAndResumesThemAllAfterACut() throws Exception {
    try (var proxy = TcpProxy.to("127.0.0.1", config.gateway().port())) {
      SpoolClient viaProxy = SpoolClient.create("http://127.0.0.1:" + proxy.port());
      try {
        Job first = await(client.submit(sleep(2000, 4))).job();
        Job second = await(client.submit(sleep(2500, 5))).job();
        var firstEvents = new CopyOnWriteArrayList<JobEvent>();
        var secondEvents = new CopyOnWriteArrayList<JobEvent>();
        var firstProgress = new CompletableFuture<Void>();
        MultiJobSubscription many = viaProxy.followMany();
        Future<Job> firstDone =
            many.follow(
                first.id(),
                0,
                event -> {
                  firstEvents.add(event);
                  if (event.type().equals(JobEvent.PROGRESS)) {
                    firstProgress.complete(null);
                  }
                });
        Future<Job> secondDone = many.follow(second.id(), 0, secondEvents::add);
        Future<Job> unknown = many.follow(UUID.randomUUID(), 0, event -> {});
        assertThrows(IllegalArgumentException.class, () -> await(unknown));

        firstProgress.get(AWAIT_SECS, TimeUnit.SECONDS);
        proxy.cut();
        Eventually.await(
            "the first job checkpointed two more steps",
            Duration.ofSeconds(30),
            () -> {
              var checkpoint = checkpointOf(first.id());
              return checkpoint != null && checkpoint.get("steps_done").asInt() >= 3;
            });
        proxy.restore();

        assertEquals(Job.Status.COMPLETED, await(firstDone).status());
        assertEquals(Job.Status.COMPLETED, await(secondDone).status());
        assertTrue(many.reconnects() >= 1, "the connection was made again");
        assertEquals(sleepEvents(4), kinds(firstEvents));
        assertEquals(sleepEvents(5), kinds(secondEvents));
        many.close();
      } finally {
        viaProxy.close().await();
      }
    }
  }

  @Test
  void closedSubscriptionStopsWithoutTheEnd() throws Exception {
    Job job = await(client.submit(JobRequest.builder("echo").queue(IDLE_QUEUE).build())).job();
    Followed followed = follow(client, job.id(), 0);
    followed.subscription().close();
    assertThrows(
        java.util.concurrent.CancellationException.class,
        () -> await(followed.subscription().finished()));
  }

  @Test
  void readmeExampleRunsAgainstARealGateway() {
    Job done = ClientExample.sleepWithProgress(base);
    assertEquals(Job.Status.COMPLETED, done.status());
    assertNotEquals(null, done.result());
  }
}
