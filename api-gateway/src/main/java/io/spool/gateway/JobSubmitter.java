package io.spool.gateway;

import io.spool.model.GroupCommit;
import io.spool.model.Job;
import io.spool.model.JobSql;
import io.spool.model.JobStatus;
import io.spool.model.NewJob;
import io.spool.model.QueueSignals;
import io.spool.model.QueueSignals.Signal;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.redis.client.Redis;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Inserts new jobs, many requests to one commit under load (group commit), then signals each job on
 * its queue's stream. A request is answered when its rows are committed (design note 1); the signal
 * follows, and a lost signal only delays a job, since Postgres holds it (design note 2).
 */
final class JobSubmitter {
  private static final Logger log = LoggerFactory.getLogger(JobSubmitter.class);
  /** Rows in one INSERT; one batch request (up to 1,000) always fits. */
  private static final int MAX_ROWS_PER_COMMIT = 2000;
  private static final int MAX_COMMITS_IN_FLIGHT = 2;

  private final SqlClient pg;
  private final QueueSignals signals;
  private final GroupCommit<List<NewJob>, List<Job>> commits;

  JobSubmitter(Context context, SqlClient pg, QueueSignals signals) {
    this.pg = pg;
    this.signals = signals;
    this.commits = new GroupCommit<>(context, this::insert, List::size, MAX_ROWS_PER_COMMIT, MAX_COMMITS_IN_FLIGHT);
  }

  /** Commits the jobs (all or none) and answers them as stored. */
  Future<List<Job>> submit(List<NewJob> jobs) {
    return commits.submit(jobs);
  }

  private Future<List<List<Job>>> insert(List<List<NewJob>> requests) {
    List<NewJob> all = requests.stream().flatMap(List::stream).toList();
    return pg.preparedQuery(JobSql.INSERT_MANY).execute(JobSql.insertArgs(all)).map(rows -> {
      Map<UUID, Row> inserted = new HashMap<>(all.size() * 2);
      for (Row row : rows) {
        inserted.put(row.getUUID("id"), row);
      }
      var answers = new ArrayList<List<Job>>(requests.size());
      for (List<NewJob> request : requests) {
        answers.add(request.stream().map(job -> stored(job, inserted.get(job.id()))).toList());
      }
      signal(answers.stream().flatMap(List::stream).toList());
      return answers;
    });
  }

  private void signal(List<Job> jobs) {
    signals.signal(jobs.stream().map(Signal::of).toList()).onFailure(e ->
        log.warn("could not signal {} committed jobs on Redis; they wait in Postgres: {}", jobs.size(), e.getMessage()));
  }

  private static Job stored(NewJob job, Row inserted) {
    return new Job(job.id(), job.type(), job.queue(), job.userId(), job.request(), JobStatus.PENDING, null, null,
        0, job.maxAttempts(), inserted.getOffsetDateTime("submitted_at").toInstant(), null, null, job.priority(),
        inserted.getOffsetDateTime("run_at").toInstant(), job.timeoutSecs(), false, job.callbackUrl(), null);
  }
}
