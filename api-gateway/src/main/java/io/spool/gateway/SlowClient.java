package io.spool.gateway;

/**
 * Decides when a client that does not read its stream must go, so that it never costs the gateway
 * more than a few seconds of its events in memory, and never delays anyone else (its socket's
 * unsent bytes wait in its own buffer, not in the event loop). A connection is backed up while more
 * than Netty's high-water mark (64 KiB) waits to be sent beyond what the kernel holds; a client
 * backed up for {@link #STALL_MILLIS} is closed with the reason, and resumes with {@code after} /
 * {@code Last-Event-ID} like after any disconnect: nothing it was sent is lost, nothing is dropped
 * silently. Used on one event loop.
 */
final class SlowClient {
  static final long STALL_MILLIS = 5_000;

  /** The WebSocket close code for "try again later" (RFC 6455, IANA registry). */
  static final short TRY_AGAIN_LATER = 1013;

  private boolean backedUp;

  /** When the connection was first seen backed up, in milliseconds of {@link System#nanoTime}. */
  private long backedUpSince;

  /**
   * Whether the client must go, seen as a frame is about to be written to it.
   *
   * @param writable whether the connection is below its high-water mark
   */
  boolean mustGo(boolean writable) {
    if (writable) {
      backedUp = false;
      return false;
    }
    long now = System.nanoTime() / 1_000_000;
    if (!backedUp) {
      backedUp = true;
      backedUpSince = now;
    }
    return now - backedUpSince >= STALL_MILLIS;
  }

  /** The connection drained below its low-water mark. */
  void caughtUp() {
    backedUp = false;
  }
}
