package io.spool.worker;

import io.spool.signal.QueueSignals;
import io.spool.signal.QueueSignals.Promotion;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves delayed signals (scheduled jobs, retries waiting out their backoff) to their streams when
 * they fall due. It sleeps until the next one is due, at most {@link #MAX_SLEEP_MILLIS}, so it
 * neither busy-polls nor starts a job late by more than that. Every worker runs one; the move is
 * atomic in Redis, so they never double a signal.
 */
final class DelayedSignalPromoter extends VerticleBase {
  private static final Logger log = LoggerFactory.getLogger(DelayedSignalPromoter.class);
  static final long MAX_SLEEP_MILLIS = 500;
  private static final long MIN_SLEEP_MILLIS = 5;
  private static final int BATCH = 500;

  private final QueueSignals signals;
  private volatile boolean stopping;

  DelayedSignalPromoter(QueueSignals signals) {
    this.signals = signals;
  }

  @Override
  public Future<?> start() {
    promote();
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    return Future.succeededFuture();
  }

  private void promote() {
    if (stopping) {
      return;
    }
    signals
        .promoteDue(BATCH)
        .onComplete(
            done -> {
              long sleep = MAX_SLEEP_MILLIS;
              if (done.succeeded()) {
                Promotion promotion = done.result();
                if (promotion.moved() >= BATCH) {
                  sleep = 0;
                } else if (promotion.millisUntilNext() >= 0) {
                  sleep =
                      Math.max(
                          MIN_SLEEP_MILLIS,
                          Math.min(MAX_SLEEP_MILLIS, promotion.millisUntilNext()));
                }
              } else {
                log.debug("promoting delayed signals failed: {}", done.cause().toString());
              }
              if (sleep == 0) {
                context.runOnContext(v -> promote());
              } else if (!stopping) {
                vertx.setTimer(sleep, id -> promote());
              }
            });
  }
}
