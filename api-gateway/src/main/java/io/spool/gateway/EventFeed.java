package io.spool.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.model.Job;
import io.spool.model.JobEvent;
import io.spool.model.JobEvents;
import io.spool.model.JobJson;
import io.spool.model.JobSql;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.HashMap;
import java.util.UUID;

/**
 * Delivers one job's events to one client, in seq order and each once: the logged events after a
 * given seq, then live ones, and finally {@code end}, whose data is the final job read from Postgres
 * (design note 8). If the log is gone (expired, Redis restarted) a finished job still gets its
 * {@code end} at once, never a hang. Everything runs on the client connection's context.
 */
final class EventFeed {
  /** Where the events go. */
  interface Sink {
    void send(EventFrame frame);

    /** After {@code end}: the feed is over. */
    void ended();
  }

  /**
   * A feed that delivered nothing for this long asks Postgres whether the job has ended: the safety
   * net when events cannot flow (Redis away, an event lost), so a subscriber never hangs.
   */
  static final long QUIET_CHECK_MILLIS = 10_000;

  private final Vertx vertx;
  private final SqlClient pg;
  private final JobEvents log;
  private final EventHub hub;
  /**
   * Reads of a job's final state in flight, by job and user: when a job followed by a thousand clients
   * of this event loop ends, they share one query instead of making a thousand. Only this feed's
   * event loop touches it (one feed per gateway verticle), and query answers come back on it.
   */
  private final Map<String, Future<Stored>> loading = new HashMap<>();

  EventFeed(Vertx vertx, SqlClient pg, JobEvents log, EventHub hub) {
    this.vertx = vertx;
    this.pg = pg;
    this.log = log;
    this.hub = hub;
  }

  /** A running feed; {@link #stop()} when the client goes away. */
  final class Session {
    private final UUID jobId;
    private final String user;
    private final Sink sink;
    private final List<EventFrame> early = new ArrayList<>();
    private long lastSeq;
    private boolean caughtUp;
    private boolean over;
    private boolean deliveredSinceCheck;
    private long quietCheck = -1;
    private EventHub.Registration registration;

    private Session(UUID jobId, String user, long afterSeq, Sink sink) {
      this.jobId = jobId;
      this.user = user;
      this.lastSeq = afterSeq;
      this.sink = sink;
    }

    private void start() {
      quietCheck = vertx.setPeriodic(QUIET_CHECK_MILLIS, id -> {
        if (!deliveredSinceCheck && caughtUp && !over) {
          endIfFinished();
        }
        deliveredSinceCheck = false;
      });
      hub.listen(jobId, this::onLive)
          .compose(r -> {
            registration = r;
            if (over) {
              r.close();
            }
            return log.since(jobId, lastSeq).otherwise(List.of());
          })
          .onSuccess(history -> {
            history.forEach(event -> deliver(EventFrame.of(event)));
            caughtUp = true;
            early.sort(Comparator.comparingLong(frame -> frame.event().seq()));
            early.forEach(this::deliver);
            early.clear();
            if (!over) {
              endIfFinished();
            }
          });
    }

    private void onLive(EventFrame frame) {
      if (!caughtUp) {
        early.add(frame);
      } else {
        deliver(frame);
      }
    }

    private void deliver(EventFrame frame) {
      JobEvent event = frame.event();
      if (over || event.seq() <= lastSeq) {
        return;
      }
      if (event.isEnd()) {
        finish(event.seq());
        return;
      }
      lastSeq = event.seq();
      deliveredSinceCheck = true;
      sink.send(frame);
    }

    /** The log may be gone: if Postgres says the job has ended, end now. */
    private void endIfFinished() {
      load().onSuccess(stored -> {
        if (stored != null && stored.job().status().isFinished() && !over) {
          finish(lastSeq + 1);
        }
      });
    }

    /** Sends {@code end} with the final job from Postgres, then closes. */
    private void finish(long seq) {
      over = true;
      load().onComplete(done -> {
        Stored stored = done.succeeded() ? done.result() : null;
        int attempt = stored == null ? 0 : stored.job().attempts();
        Instant now = Instant.now();
        // The job's JSON was encoded once for every client of this job: only the frame is built here.
        sink.send(new EventFrame(new JobEvent(jobId, seq, JobEvent.END, attempt, now, stored == null ? null : stored.tree()),
            JobEvents.wireJson(jobId, seq, JobEvent.END, attempt, now.toString(), stored == null ? "null" : stored.json())));
        close();
        sink.ended();
      });
    }

    /** The job as Postgres has it now (null if gone). */
    private Future<Stored> load() {
      return sharedRead(jobId, user);
    }

    void stop() {
      over = true;
      close();
    }

    private void close() {
      vertx.cancelTimer(quietCheck);
      if (registration != null) {
        registration.close();
        registration = null;
      }
    }
  }

  /** A job as read from Postgres, with its JSON tree and text made once for all who asked. */
  private record Stored(Job job, JsonNode tree, String json) {}

  private Future<Stored> sharedRead(UUID jobId, String user) {
    String key = jobId + " " + user;
    Promise<Stored> read = Promise.promise();
    Future<Stored> shared = loading.putIfAbsent(key, read.future());
    if (shared != null) {
      return shared;
    }
    pg.preparedQuery(JobSql.SELECT_OWN).execute(Tuple.of(jobId, user))
        .map(rows -> {
          if (rows.size() == 0) {
            return null;
          }
          Job job = JobSql.toJob(rows.iterator().next());
          JsonNode tree = JobJson.MAPPER.valueToTree(job);
          return new Stored(job, tree, JobJson.encode(tree));
        })
        .onComplete(done -> {
          loading.remove(key);
          read.handle(done);
        });
    return read.future();
  }

  /** Starts feeding the job's events after {@code afterSeq} to the sink. */
  Session start(UUID jobId, String user, long afterSeq, Sink sink) {
    var session = new Session(jobId, user, afterSeq, sink);
    session.start();
    return session;
  }
}
