package io.spool.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.model.Job;
import io.spool.model.JobEvent;
import io.spool.model.JobJson;
import io.spool.model.JobStatus;
import io.spool.signal.JobEvents;
import io.spool.store.JobRows;
import io.spool.store.UserJobSql;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.templates.SqlTemplate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * Delivers one job's events to one client, in seq order and each once: the logged events after a
 * given seq, then live ones, and finally {@code end}, whose data is the final job read from
 * Postgres (design note 8 in docs/architecture.md). If the log is gone (expired, Redis restarted) a
 * finished job still gets its {@code end} at once, never a hang. Everything runs on the client
 * connection's context.
 */
final class EventFeed {
  /** Where the events go. */
  interface Sink {
    void send(EventFrame frame);

    /** After {@code end}: the feed is over. */
    void ended();

    static Sink of(Consumer<EventFrame> send, Runnable ended) {
      return new Sink() {
        @Override
        public void send(EventFrame frame) {
          send.accept(frame);
        }

        @Override
        public void ended() {
          ended.run();
        }
      };
    }
  }

  /**
   * A feed that delivered nothing for this long asks Postgres whether the job has ended: the safety
   * net when events cannot flow (Redis away, an event lost), so a subscriber never hangs.
   */
  static final long QUIET_CHECK_MILLIS = 10_000;

  /**
   * A worker records a job's end in Postgres before it appends the final status event: a feed that
   * finds the job ended without that event waits this long for it, so every subscriber sees it
   * before {@code end} (unless the log is gone or Redis is away).
   */
  static final long FINAL_STATUS_GRACE_MILLIS = 1_000;

  /** How soon a feed asks again for a job's log it could not read. */
  static final long HISTORY_RETRY_MILLIS = 1_000;

  private final Vertx vertx;
  private final SqlClient pg;
  private final JobEvents log;
  private final EventHub hub;

  /**
   * Reads of a job's state in flight, by job and user: when a job followed by a thousand clients of
   * this event loop ends, they share one query instead of making a thousand. Only this feed's event
   * loop touches it (one feed per gateway verticle), and query answers come back on it.
   */
  private final Map<String, Loading> loading = new HashMap<>();

  /** For {@link #sharedRead}: a read sent at any time will do. */
  private static final long ANY_READ = Long.MIN_VALUE;

  /** A read in flight and when it was sent ({@link System#nanoTime}). */
  private record Loading(long sentAt, Future<Stored> read) {}

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

    /** The job has ended in Postgres; {@code end} follows its final status event, or the grace. */
    private boolean ending;

    private boolean sawFinalStatus;
    private long graceTimer = -1;
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
      quietCheck =
          vertx.setPeriodic(
              QUIET_CHECK_MILLIS,
              id -> {
                if (!deliveredSinceCheck && caughtUp && !over) {
                  endIfFinished();
                }
                deliveredSinceCheck = false;
              });
      hub.listen(jobId, this::onLive)
          .onSuccess(
              r -> {
                registration = r;
                if (over) {
                  r.close();
                } else {
                  catchUp();
                }
              });
    }

    /**
     * Sends the logged events after {@code lastSeq}, then those that arrived live meanwhile. A
     * failed read (Redis away) is tried again rather than taken as an empty log, which would skip
     * events silently; meanwhile a job that has ended still gets its {@code end}.
     */
    private void catchUp() {
      log.since(jobId, lastSeq)
          .onComplete(
              read -> {
                if (over) {
                  return;
                }
                if (read.failed()) {
                  endIfFinished();
                  vertx.setTimer(
                      HISTORY_RETRY_MILLIS,
                      t -> {
                        if (!over) {
                          catchUp();
                        }
                      });
                  return;
                }
                read.result().forEach(event -> deliver(EventFrame.of(event)));
                caughtUp = true;
                deliverEarly();
                if (!over) {
                  endIfFinished();
                }
              });
    }

    /** The live events that arrived before the log was read, in order (deliver drops repeats). */
    private void deliverEarly() {
      early.sort(Comparator.comparingLong(frame -> frame.event().seq()));
      early.forEach(this::deliver);
      early.clear();
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
      if (event.type().equals(JobEvent.STATUS)
          && event.data() != null
          && JobStatus.fromWire(event.data().path("status").asText())
              .map(JobStatus::isFinished)
              .orElse(false)) {
        sawFinalStatus = true;
        if (ending) {
          vertx.cancelTimer(graceTimer);
          finish(lastSeq + 1);
        }
      }
    }

    /**
     * The log may be gone: if Postgres says the job has ended, end (after its final status event).
     */
    private void endIfFinished() {
      load(ANY_READ)
          .onSuccess(
              stored -> {
                if (stored == null || !stored.job().status().isFinished() || over || ending) {
                  return;
                }
                if (sawFinalStatus) {
                  finish(lastSeq + 1);
                  return;
                }
                ending = true;
                graceTimer =
                    vertx.setTimer(
                        FINAL_STATUS_GRACE_MILLIS,
                        id ->
                            log.since(jobId, lastSeq)
                                .otherwise(List.of())
                                .onComplete(
                                    read -> {
                                      read.result().forEach(event -> deliver(EventFrame.of(event)));
                                      // Live events held while the log could not be read come after
                                      // it.
                                      deliverEarly();
                                      if (!over) {
                                        finish(lastSeq + 1);
                                      }
                                    }));
              });
    }

    /** Sends {@code end} with the final job from Postgres, then closes. */
    private void finish(long seq) {
      over = true;
      // Only a read sent from now on is sure to see the end that brought us here: one sent before
      // (a quiet check's, say) may answer the job as it was while running.
      load(System.nanoTime())
          .onComplete(
              done -> {
                Stored stored = done.succeeded() ? done.result() : null;
                int attempt = stored == null ? 0 : stored.job().attempts();
                Instant now = Instant.now();
                // The job's JSON was encoded once for every client of this job: only the frame is
                // built here.
                sink.send(
                    new EventFrame(
                        new JobEvent(
                            jobId,
                            seq,
                            JobEvent.END,
                            attempt,
                            now,
                            stored == null ? null : stored.tree()),
                        JobEvents.wireJson(
                            jobId,
                            seq,
                            JobEvent.END,
                            attempt,
                            now.toString(),
                            stored == null ? "null" : stored.json())));
                close();
                sink.ended();
              });
    }

    /** The job as Postgres has it (null if gone), read no earlier than {@code notBefore}. */
    private Future<Stored> load(long notBefore) {
      return sharedRead(jobId, user, notBefore);
    }

    void stop() {
      over = true;
      close();
    }

    private void close() {
      vertx.cancelTimer(quietCheck);
      vertx.cancelTimer(graceTimer);
      if (registration != null) {
        registration.close();
        registration = null;
      }
    }
  }

  /** A job as read from Postgres, with its JSON tree and text made once for all who asked. */
  private record Stored(Job job, JsonNode tree, String json) {}

  /**
   * A read of the job sent at {@code notBefore} ({@link System#nanoTime}) or later, or {@link
   * #ANY_READ}: one in flight if there is such.
   */
  private Future<Stored> sharedRead(UUID jobId, String user, long notBefore) {
    String key = jobId + " " + user;
    Loading inFlight = loading.get(key);
    if (inFlight != null && (notBefore == ANY_READ || inFlight.sentAt() - notBefore >= 0)) {
      return inFlight.read();
    }
    Promise<Stored> read = Promise.promise();
    var mine = new Loading(System.nanoTime(), read.future());
    loading.put(key, mine);
    SqlTemplate.forQuery(pg, UserJobSql.SELECT_OWN)
        .execute(Map.of("id", jobId, "user", user))
        .map(
            rows -> {
              if (rows.size() == 0) {
                return null;
              }
              Job job = JobRows.toJob(rows.iterator().next());
              JsonNode tree = JobJson.MAPPER.valueToTree(job);
              return new Stored(job, tree, JobJson.encode(tree));
            })
        .onComplete(
            done -> {
              loading.remove(key, mine);
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
