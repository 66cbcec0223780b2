package io.spool.store;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.IntConsumer;
import java.util.function.ToIntFunction;

/**
 * Group commit (design note 6 in docs/architecture.md): a write goes alone when nothing is in
 * flight, and writes that arrive meanwhile go together in the next flush, so batching never adds
 * latency when traffic is light and round trips stay few when it is heavy. Callable from any
 * thread; its state lives on one context. One instance may serve several event loops (the gateway's
 * do share theirs, so that their writes coalesce instead of going as two half-size batches): a
 * caller on another event loop gets its answer back on its own loop.
 *
 * @param <I> one caller's input
 * @param <O> that caller's output
 */
public final class GroupCommit<I, O> {
  private final Context context;
  private final Function<List<I>, Future<List<O>>> flush;
  private final ToIntFunction<I> weight;
  private final int maxWeight;
  private final int maxInFlight;
  private final IntConsumer batchWeights;
  private final ArrayDeque<Waiting<I, O>> queue = new ArrayDeque<>();
  private int inFlight;

  private record Waiting<I, O>(I input, Promise<O> promise) {}

  /**
   * @param context where the queue lives (an event-loop context)
   * @param flush writes a batch; answers one output per input, in order
   * @param weight how much of a batch an input takes (e.g. rows)
   * @param maxWeight a batch's limit; an input heavier than this still goes, alone
   * @param maxInFlight flushes allowed at once
   */
  public GroupCommit(
      Context context,
      Function<List<I>, Future<List<O>>> flush,
      ToIntFunction<I> weight,
      int maxWeight,
      int maxInFlight) {
    this(context, flush, weight, maxWeight, maxInFlight, total -> {});
  }

  /**
   * The same, telling {@code batchWeights} the total weight of each batch flushed (for a metric).
   */
  public GroupCommit(
      Context context,
      Function<List<I>, Future<List<O>>> flush,
      ToIntFunction<I> weight,
      int maxWeight,
      int maxInFlight,
      IntConsumer batchWeights) {
    this.batchWeights = batchWeights;
    this.context = context;
    this.flush = flush;
    this.weight = weight;
    this.maxWeight = maxWeight;
    this.maxInFlight = maxInFlight;
  }

  public Future<O> submit(I input) {
    Context caller = Vertx.currentContext();
    // An event loop's caller continues on its own loop, not on this one's; a virtual thread awaits
    // anywhere.
    Promise<O> promise =
        caller != null && caller != context && caller.isEventLoopContext()
            ? ((ContextInternal) caller).promise()
            : Promise.promise();
    context.runOnContext(
        v -> {
          queue.add(new Waiting<>(input, promise));
          drain();
        });
    return promise.future();
  }

  private void drain() {
    while (inFlight < maxInFlight && !queue.isEmpty()) {
      List<Waiting<I, O>> batch = new ArrayList<>();
      int total = 0;
      while (!queue.isEmpty()
          && (batch.isEmpty() || total + weight.applyAsInt(queue.peek().input()) <= maxWeight)) {
        Waiting<I, O> next = queue.poll();
        total += weight.applyAsInt(next.input());
        batch.add(next);
      }
      inFlight++;
      batchWeights.accept(total);
      write(batch)
          .onComplete(
              ar -> {
                inFlight--;
                drain();
              });
    }
  }

  /**
   * Writes a batch; if it fails and holds more than one input, each input is written alone, so one
   * poisonous input (say, text Postgres refuses) fails only its own caller.
   */
  private Future<Void> write(List<Waiting<I, O>> batch) {
    return flushSafely(batch)
        .transform(
            ar -> {
              if (ar.succeeded() && ar.result().size() == batch.size()) {
                for (int i = 0; i < batch.size(); i++) {
                  batch.get(i).promise().complete(ar.result().get(i));
                }
                return Future.succeededFuture();
              }
              Throwable cause =
                  ar.succeeded()
                      ? new IllegalStateException(
                          "a flush answered "
                              + ar.result().size()
                              + " outputs for "
                              + batch.size()
                              + " inputs")
                      : ar.cause();
              if (batch.size() == 1) {
                batch.get(0).promise().fail(cause);
                return Future.succeededFuture();
              }
              Future<Void> alone = Future.succeededFuture();
              for (Waiting<I, O> waiting : batch) {
                alone = alone.transform(v -> write(List.of(waiting)));
              }
              return alone;
            });
  }

  private Future<List<O>> flushSafely(List<Waiting<I, O>> batch) {
    try {
      return flush.apply(batch.stream().map(Waiting::input).toList());
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
  }
}
