package io.spool.handler;

/**
 * The running attempt no longer holds its job (it was declared lost and given to another attempt,
 * or the worker is handing it back): nothing more of this attempt may be written. Handlers should
 * let it propagate; Spool then drops the attempt without recording anything.
 */
public final class AttemptLostException extends RuntimeException {
  public AttemptLostException(String message) {
    super(message);
  }
}
