package io.spool.handler;

/**
 * Fails the job at once, whatever attempts remain: a failure no retry can fix, such as a request
 * the handler cannot make sense of. The job goes to the dead-letter queue with {@code getMessage()}
 * as its error (or ends cancelled, if a cancel was asked for). The SDKs' {@code NonRetryableError}
 * is the same for remote workers ({@code fail} with {@code retry: false}).
 */
public final class NonRetryableException extends RuntimeException {
  public NonRetryableException(String message) {
    super(message);
  }

  public NonRetryableException(String message, Throwable cause) {
    super(message, cause);
  }
}
