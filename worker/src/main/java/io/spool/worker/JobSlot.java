package io.spool.worker;

import io.spool.model.Job;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;

/**
 * One job slot: a virtual-thread verticle that runs one job at a time, straight-line. A worker
 * deploys {@code SPOOL_WORKER_CONCURRENCY} of them.
 */
final class JobSlot extends VerticleBase {
  private final JobDispatcher dispatcher;
  private final JobRunner runner;
  private volatile boolean stopping;

  JobSlot(JobDispatcher dispatcher, JobRunner runner) {
    this.dispatcher = dispatcher;
    this.runner = runner;
  }

  @Override
  public Future<?> start() {
    context.runOnContext(v -> runUntilStopped());
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    return Future.succeededFuture();
  }

  private void runUntilStopped() {
    while (!stopping) {
      Job job;
      try {
        job = dispatcher.next().await();
      } catch (Exception e) {
        if (e instanceof InterruptedException) {
          Thread.currentThread().interrupt();
          return;
        }
        throw e;
      }
      try {
        runner.run(job);
      } catch (VirtualMachineError e) {
        throw e;
      } catch (Throwable e) {
        // One job's trouble must not end the slot.
        org.slf4j.LoggerFactory.getLogger(JobSlot.class)
            .error("job {} escaped its runner", job.id(), e);
      }
    }
  }
}
