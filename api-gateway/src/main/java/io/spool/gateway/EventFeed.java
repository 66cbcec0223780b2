package io.spool.gateway;

import io.spool.model.Job;
import io.spool.model.JobEvent;
import io.spool.model.JobEvents;
import io.spool.model.JobJson;
import io.spool.model.JobSql;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
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
    void send(JobEvent event);

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
    private final List<JobEvent> early = new ArrayList<>();
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
            history.forEach(this::deliver);
            caughtUp = true;
            early.sort(Comparator.comparingLong(JobEvent::seq));
            early.forEach(this::deliver);
            early.clear();
            if (!over) {
              endIfFinished();
            }
          });
    }

    private void onLive(JobEvent event) {
      if (!caughtUp) {
        early.add(event);
      } else {
        deliver(event);
      }
    }

    private void deliver(JobEvent event) {
      if (over || event.seq() <= lastSeq) {
        return;
      }
      if (event.isEnd()) {
        finish(event.seq());
        return;
      }
      lastSeq = event.seq();
      deliveredSinceCheck = true;
      sink.send(event);
    }

    /** The log may be gone: if Postgres says the job has ended, end now. */
    private void endIfFinished() {
      load().onSuccess(job -> {
        if (job != null && job.status().isFinished() && !over) {
          finish(lastSeq + 1);
        }
      });
    }

    /** Sends {@code end} with the final job from Postgres, then closes. */
    private void finish(long seq) {
      over = true;
      load().onComplete(done -> {
        Job job = done.succeeded() ? done.result() : null;
        sink.send(new JobEvent(jobId, seq, JobEvent.END, job == null ? 0 : job.attempts(), Instant.now(),
            job == null ? null : JobJson.MAPPER.valueToTree(job)));
        close();
        sink.ended();
      });
    }

    private Future<Job> load() {
      return pg.preparedQuery(JobSql.SELECT_OWN).execute(Tuple.of(jobId, user))
          .map(rows -> rows.size() == 0 ? null : JobSql.toJob(rows.iterator().next()));
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

  /** Starts feeding the job's events after {@code afterSeq} to the sink. */
  Session start(UUID jobId, String user, long afterSeq, Sink sink) {
    var session = new Session(jobId, user, afterSeq, sink);
    session.start();
    return session;
  }
}
