package io.spool.worker;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a worker's fenced write until Postgres answers. While Postgres is away the attempt waits
 * with its lease (if the worker dies meanwhile, the reaper gives the job to another attempt); a
 * timeout, cancel or shutdown interrupts the wait. For the slot's virtual thread.
 */
final class PostgresRetry {
  private static final Logger log = LoggerFactory.getLogger(PostgresRetry.class);
  private static final long FIRST_WAIT_MILLIS = 250;
  private static final long MAX_WAIT_MILLIS = 5000;

  private PostgresRetry() {}

  /**
   * The statement's answer, once there is one.
   *
   * @param what what is being written, for the log
   * @throws InterruptedException the attempt was stopped while it waited
   */
  static <T> T untilAnswered(Vertx vertx, Supplier<Future<T>> statement, String what)
      throws InterruptedException {
    for (long wait = FIRST_WAIT_MILLIS; ; wait = Math.min(wait * 2, MAX_WAIT_MILLIS)) {
      try {
        return statement.get().await();
      } catch (VirtualMachineError e) {
        throw e;
      } catch (Throwable e) { // the clients' errors are Throwables, not Exceptions
        if (e instanceof InterruptedException || Thread.currentThread().isInterrupted()) {
          throw new InterruptedException("stopped while writing " + what);
        }
        log.warn("could not write {}, retrying in {} ms: {}", what, wait, e.toString());
        try {
          vertx.timer(wait).await();
        } catch (Exception stopped) {
          throw new InterruptedException("stopped while writing " + what);
        }
      }
    }
  }
}
