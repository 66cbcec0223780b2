package io.spool.gateway;

import io.spool.model.Job;
import io.spool.ops.SpoolMetrics;
import io.spool.store.GroupCommit;
import io.spool.store.JobRows;
import io.spool.store.UserJobSql;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.templates.SqlTemplate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Reads single jobs for GET /v1/jobs/{id}, polls and long-polls alike, many requests to one
 * statement under load (design note 6 in docs/architecture.md): a read goes alone when none is in
 * flight, and those that arrive meanwhile go together in the next one. A finish batch wakes several
 * long-polls at once, and many callers poll at once, so their reads coalesce.
 */
final class JobReader {
  /** Ids in one statement. */
  private static final int MAX_IDS_PER_READ = 500;

  /** Built once: a template parses its statement when made, and this one runs per read batch. */
  private final SqlTemplate<Map<String, Object>, RowSet<Row>> selectMany;

  private final GroupCommit<UUID, Job> reads;

  JobReader(Context context, SqlClient pg, SpoolMetrics metrics) {
    this.selectMany = SqlTemplate.forQuery(pg, UserJobSql.SELECT_MANY_WITH_WEBHOOK);
    this.reads =
        new GroupCommit<>(
            context, this::read, id -> 1, MAX_IDS_PER_READ, 1, metrics.batchSizes("read"));
  }

  /** The job if it exists and belongs to the user; a 404 problem otherwise (the same for both). */
  Future<Job> load(UUID id, String user) {
    return reads
        .submit(id)
        .compose(
            job ->
                job == null || !job.userId().equals(user)
                    ? Future.failedFuture(Problem.notFound("no job " + id).exception())
                    : Future.succeededFuture(job));
  }

  /** One job or null per id, in order. */
  private Future<List<Job>> read(List<UUID> ids) {
    return selectMany
        .execute(Map.of("ids", ids.toArray(UUID[]::new)))
        .map(
            rows -> {
              Map<UUID, Job> byId = new HashMap<>(rows.size() * 2);
              for (Row row : rows) {
                Job job = JobRows.toJob(row);
                byId.put(job.id(), job);
              }
              var answers = new ArrayList<Job>(ids.size());
              ids.forEach(id -> answers.add(byId.get(id)));
              return answers;
            });
  }
}
