package io.spool.gateway;

import io.netty.channel.ChannelHandlerContext;
import java.util.ArrayList;
import java.util.List;

/**
 * Flushes, once per turn of its event loop, every socket written to in that turn: an event for
 * thousands of sockets, or a burst of events for one, costs one flush (one {@code write} system
 * call) per socket, however many frames went to it. One per event loop, used only on it.
 */
final class TurnFlusher {
  /** Something written to and not yet flushed. */
  interface Flushable {
    ChannelHandlerContext channel();

    /** Called by the flusher, once, when its turn's writes are flushed. */
    void flushed();
  }

  private final List<Flushable> written = new ArrayList<>();
  private boolean scheduled;

  /** Flushes {@code target} at the end of this turn; add each target once until it is flushed. */
  void flushLater(Flushable target) {
    written.add(target);
    if (!scheduled) {
      scheduled = true;
      // A task queued now runs after the tasks already queued (the rest of this turn's events).
      target.channel().executor().execute(this::flush);
    }
  }

  private void flush() {
    scheduled = false;
    for (Flushable target : written) {
      target.flushed();
      target.channel().flush();
    }
    written.clear();
  }
}
