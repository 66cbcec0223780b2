package io.spool.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CancellationException;

/**
 * Follows several jobs over one socket ({@code /v1/ws}): each job's events reach its handler in
 * order and each once, up to and including {@code end}. When the connection drops it connects
 * again, after a backoff, and subscribes every unfinished job again after the last event delivered,
 * so nothing is lost or repeated. Everything happens on the one Vert.x context it was opened from.
 */
public final class MultiJobSubscription {
  /** How soon a subscribe the gateway could not check is sent again. */
  private static final long RETRY_SUBSCRIBE_MILLIS = 1000;

  /** A followed job: where it resumes, who gets its events, and its final job. */
  private static final class Followed {
    final Handler<JobEvent> handler;
    final Promise<Job> finished = Promise.promise();
    long lastSeq;

    Followed(long afterSeq, Handler<JobEvent> handler) {
      this.lastSeq = afterSeq;
      this.handler = handler;
    }
  }

  private final Context context;
  private final ReconnectingSocket socket;

  /** Unfinished followed jobs; only the context touches it. */
  private final Map<UUID, Followed> followed = new HashMap<>();

  MultiJobSubscription(SpoolClient client) {
    this.context = client.vertx().getOrCreateContext();
    this.socket =
        new ReconnectingSocket(
            client,
            context,
            () -> "/v1/ws",
            new ReconnectingSocket.Listener() {
              @Override
              public void opened() {
                followed.forEach(MultiJobSubscription.this::subscribe);
              }

              @Override
              public void message(String text) {
                onMessage(text);
              }

              @Override
              public void refused(SpoolException problem) {
                followed.values().forEach(f -> f.finished.tryFail(problem));
                followed.clear();
              }
            });
  }

  void start() {
    socket.start();
  }

  /**
   * Follows a job's events after {@code afterSeq} (0 for all); completes with the final job after
   * its {@code end}, or fails if the gateway refuses to follow it (say, an unknown job). Following
   * a job already followed answers the same future and keeps the first handler.
   */
  public Future<Job> follow(UUID jobId, long afterSeq, Handler<JobEvent> handler) {
    if (afterSeq < 0) {
      throw new IllegalArgumentException("afterSeq must not be negative");
    }
    Promise<Job> result = Promise.promise();
    context.runOnContext(
        v -> {
          Followed job = followed.get(jobId);
          if (job == null) {
            job = new Followed(afterSeq, handler);
            followed.put(jobId, job);
            subscribe(jobId, job); // or, if no connection is open, once one is
          }
          job.finished.future().onComplete(result);
        });
    return result.future();
  }

  /** Stops following one job; its future fails with a {@link CancellationException}. */
  public void unfollow(UUID jobId) {
    context.runOnContext(
        v -> {
          Followed job = followed.remove(jobId);
          if (job != null) {
            job.finished.tryFail(
                new CancellationException("stopped following job " + jobId + " before it ended"));
            socket.send(command("unsubscribe", jobId).toString());
          }
        });
  }

  /** How many times the connection dropped (or could not be made) and was tried again. */
  public int reconnects() {
    return socket.reconnects();
  }

  /**
   * Closes the socket; the futures of unfinished jobs fail with a {@link CancellationException}.
   */
  public void close() {
    context.runOnContext(
        v -> {
          followed.forEach(
              (id, job) ->
                  job.finished.tryFail(
                      new CancellationException(
                          "stopped following job " + id + " before it ended")));
          followed.clear();
          socket.stop();
        });
  }

  private void subscribe(UUID jobId, Followed job) {
    socket.send(command("subscribe", jobId).put("after", job.lastSeq).toString());
  }

  private static ObjectNode command(String op, UUID jobId) {
    return ClientJson.MAPPER.createObjectNode().put("op", op).put("job_id", jobId.toString());
  }

  private void onMessage(String text) {
    JsonNode message;
    try {
      message = ClientJson.MAPPER.readTree(text);
    } catch (Exception e) {
      return; // not from a Spool gateway; nothing to attribute it to
    }
    UUID jobId = parseId(message.path("job_id").asText(null));
    Followed job = jobId == null ? null : followed.get(jobId);
    if (job == null) {
      return; // a job no longer followed, or an error about a command that was not ours
    }
    try {
      if ("error".equals(message.path("type").asText())) {
        if (message.path("retry").asBoolean(false)) {
          // The gateway could not check the job just now (Postgres away): ask again in a moment.
          context
              .owner()
              .setTimer(
                  RETRY_SUBSCRIBE_MILLIS,
                  t -> {
                    if (followed.get(jobId) == job) {
                      subscribe(jobId, job);
                    }
                  });
          return;
        }
        followed.remove(jobId);
        job.finished.tryFail(
            new IllegalArgumentException(
                "the gateway will not follow job "
                    + jobId
                    + ": "
                    + message.path("message").asText()));
        return;
      }
      JobEvent event = ClientJson.MAPPER.treeToValue(message, JobEvent.class);
      if (event.seq() <= job.lastSeq) {
        return; // already delivered on an earlier connection
      }
      job.lastSeq = event.seq();
      job.handler.handle(event);
      if (event.isEnd()) {
        followed.remove(jobId);
        job.finished.tryComplete(JobSubscription.finalJob(event));
      }
    } catch (Exception e) {
      // A failing handler ends that job's following: skipping on would break its order.
      followed.remove(jobId);
      job.finished.tryFail(e);
      socket.send(command("unsubscribe", jobId).toString());
    }
  }

  private static UUID parseId(String text) {
    try {
      return text == null ? null : UUID.fromString(text);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }
}
