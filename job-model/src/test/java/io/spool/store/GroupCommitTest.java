package io.spool.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class GroupCommitTest {
  static Vertx vertx;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
  }

  @Test
  void coalescesWritesThatArriveWhileOneIsInFlight() {
    var batchSizes = new CopyOnWriteArrayList<Integer>();
    var reported = new CopyOnWriteArrayList<Integer>();
    var commits =
        new GroupCommit<Integer, Integer>(
            vertx.getOrCreateContext(),
            batch -> {
              batchSizes.add(batch.size());
              return vertx.timer(20).map(v -> batch.stream().map(i -> i * 10).toList());
            },
            i -> 1,
            1000,
            1,
            reported::add);
    var answers = new ArrayList<Future<Integer>>();
    for (int i = 0; i < 50; i++) {
      answers.add(commits.submit(i));
    }
    for (int i = 0; i < 50; i++) {
      assertEquals(i * 10, answers.get(i).await());
    }
    assertTrue(batchSizes.size() < 50, "writes were batched: " + batchSizes);
    assertEquals(50, batchSizes.stream().mapToInt(Integer::intValue).sum());
    assertEquals(batchSizes, reported, "each batch's size is reported for the batch-size metric");
  }

  @Test
  void aPoisonousInputFailsOnlyItsOwnCaller() {
    var commits =
        new GroupCommit<String, String>(
            vertx.getOrCreateContext(),
            batch ->
                batch.contains("poison")
                    ? Future.failedFuture(new IllegalArgumentException("refused"))
                    : vertx.timer(5).map(v -> batch.stream().map(String::toUpperCase).toList()),
            s -> 1,
            1000,
            1);
    List<Future<String>> answers = new ArrayList<>();
    for (String input : List.of("a", "b", "poison", "c", "d")) {
      answers.add(commits.submit(input));
    }
    assertEquals("A", answers.get(0).await());
    assertEquals("B", answers.get(1).await());
    assertThrows(IllegalArgumentException.class, () -> answers.get(2).await());
    assertEquals("C", answers.get(3).await());
    assertEquals("D", answers.get(4).await());
  }

  @Test
  void aFlushAnsweringTooFewOutputsFailsItsCallersInsteadOfHangingThem() {
    var commits =
        new GroupCommit<Integer, Integer>(
            vertx.getOrCreateContext(),
            batch -> Future.succeededFuture(List.of()),
            i -> 1,
            1000,
            1);
    var answer = commits.submit(1);
    assertThrows(IllegalStateException.class, answer::await);
  }

  @Test
  void callersOnTwoEventLoopsShareOneBatchAndEachGetsItsAnswerOnItsOwnLoop() throws Exception {
    var batchSizes = new CopyOnWriteArrayList<Integer>();
    var commits =
        new GroupCommit<Integer, Integer>(
            vertx.getOrCreateContext(),
            batch -> {
              batchSizes.add(batch.size());
              return vertx.timer(20).map(v -> batch.stream().map(i -> i + 1).toList());
            },
            i -> 1,
            1000,
            1);
    var loops = List.of(vertx.getOrCreateContext(), vertx.getOrCreateContext());
    var answeredOnCallersLoop = new CopyOnWriteArrayList<Boolean>();
    var answers = new CopyOnWriteArrayList<Integer>();
    var done = new CountDownLatch(20);
    for (int i = 0; i < 20; i++) {
      int input = i;
      var loop = loops.get(i % 2);
      loop.runOnContext(
          v ->
              commits
                  .submit(input)
                  .onComplete(
                      answer -> {
                        answeredOnCallersLoop.add(Vertx.currentContext() == loop);
                        answers.add(answer.result());
                        done.countDown();
                      }));
    }
    assertTrue(done.await(10, TimeUnit.SECONDS), "every caller was answered");
    assertEquals(IntStream.rangeClosed(1, 20).boxed().toList(), answers.stream().sorted().toList());
    assertTrue(
        answeredOnCallersLoop.stream().allMatch(b -> b),
        "each answer ran on its caller's loop: " + answeredOnCallersLoop);
    assertTrue(batchSizes.size() < 20, "both loops' writes went in shared batches: " + batchSizes);
  }
}
