package io.spool.client;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import java.util.UUID;
import java.util.concurrent.CancellationException;

/**
 * Follows one job's events over {@code /v1/jobs/{id}/ws}, in order and each once, until {@code
 * end}. When the connection drops before then it connects again, after a backoff, asking for the
 * events after the last one delivered ({@code ?after=SEQ}), so a gateway restart or a network cut
 * loses and repeats nothing. Everything happens on the one Vert.x context it was started from, so
 * the handler is never called twice at once.
 */
public final class JobSubscription {
  private final UUID jobId;
  private final Handler<JobEvent> handler;
  private final Context context;
  private final ReconnectingSocket socket;
  private final Promise<Job> finished = Promise.promise();

  /** The seq of the last event delivered: where a new connection resumes. */
  private volatile long lastSeq;

  JobSubscription(SpoolClient client, UUID jobId, long afterSeq, Handler<JobEvent> handler) {
    if (afterSeq < 0) {
      throw new IllegalArgumentException("afterSeq must not be negative");
    }
    this.jobId = jobId;
    this.lastSeq = afterSeq;
    this.handler = handler;
    this.context = client.vertx().getOrCreateContext();
    this.socket =
        new ReconnectingSocket(
            client,
            context,
            () -> "/v1/jobs/" + jobId + "/ws?after=" + lastSeq,
            new ReconnectingSocket.Listener() {
              @Override
              public void opened() {
                // the path already said where to resume
              }

              @Override
              public void message(String text) {
                onMessage(text);
              }

              @Override
              public void refused(SpoolException problem) {
                finished.tryFail(problem);
              }
            });
  }

  void start() {
    socket.start();
  }

  /**
   * Completes with the final job once {@code end} has been delivered; fails if the job is unknown,
   * or on {@link #close()}.
   */
  public Future<Job> finished() {
    return finished.future();
  }

  public UUID jobId() {
    return jobId;
  }

  /** The seq of the last event delivered (the {@code afterSeq} given, before the first). */
  public long lastSeq() {
    return lastSeq;
  }

  /** How many times the connection dropped (or could not be made) and was tried again. */
  public int reconnects() {
    return socket.reconnects();
  }

  /**
   * Stops following; {@link #finished()} fails with a {@link CancellationException} if it had not
   * completed.
   */
  public void close() {
    context.runOnContext(
        v -> {
          finished.tryFail(
              new CancellationException("stopped following job " + jobId + " before it ended"));
          socket.stop();
        });
  }

  private void onMessage(String text) {
    if (finished.future().isComplete()) {
      return;
    }
    try {
      JobEvent event = ClientJson.decode(text, JobEvent.class);
      if (event.seq() <= lastSeq) {
        return; // already delivered on an earlier connection
      }
      lastSeq = event.seq();
      handler.handle(event);
      if (event.isEnd()) {
        finished.tryComplete(finalJob(event));
        socket.stop(); // the gateway closes it too; no need to wait for that
      }
    } catch (Exception e) {
      // An unreadable frame or a failing handler ends the subscription: skipping on would break the
      // order.
      finished.tryFail(e);
      socket.stop();
    }
  }

  /** The job inside an {@code end} event. */
  static Job finalJob(JobEvent end) throws Exception {
    if (end.data() == null) {
      throw new IllegalStateException("job " + end.jobId() + " ended but could not be read");
    }
    return ClientJson.MAPPER.treeToValue(end.data(), Job.class);
  }
}
