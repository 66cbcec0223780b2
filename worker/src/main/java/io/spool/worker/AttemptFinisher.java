package io.spool.worker;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.model.GroupCommit;
import io.spool.model.Job;
import io.spool.model.JobJson;
import io.spool.model.JobSql;
import io.spool.model.JobStatus;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * Writes the outcome of attempts, many per statement under load (group commit), each fenced by
 * {@code (id, attempt)}.
 */
final class AttemptFinisher {
  private static final int MAX_ROWS = 1000;
  private static final int MAX_IN_FLIGHT = 2;

  /**
   * How an attempt ended: the job's new status and its result (as JSON text, encoded on the slot's
   * own thread) or error. Everything in it can be stored: Postgres refuses U+0000 in text and jsonb.
   */
  record Outcome(JobStatus status, String resultJson, String error) {
    static Outcome completed(JsonNode result) {
      String json = JobJson.encode(result);
      // Jackson writes U+0000 as a six-character escape; only when that text appears is the tree walked,
      // to tell it from an escaped backslash followed by "u0000".
      if (json.contains("\\u0000") && JobJson.containsNul(result)) {
        return failed("the handler's result contains the character U+0000, which cannot be stored");
      }
      return new Outcome(JobStatus.COMPLETED, json, null);
    }

    static Outcome failed(String error) {
      return new Outcome(JobStatus.FAILED, null, error.replace('\u0000', ' '));
    }
  }

  private record Finish(Job job, Outcome outcome) {}

  private final SqlClient pg;
  private final GroupCommit<Finish, Boolean> commits;

  AttemptFinisher(Context context, SqlClient pg) {
    this.pg = pg;
    this.commits = new GroupCommit<>(context, this::write, f -> 1, MAX_ROWS, MAX_IN_FLIGHT);
  }

  /** Records the outcome; answers false if the attempt had been taken away (the fence matched nothing). */
  Future<Boolean> finish(Job job, Outcome outcome) {
    return commits.submit(new Finish(job, outcome));
  }

  private Future<List<Boolean>> write(List<Finish> batch) {
    int n = batch.size();
    var ids = new UUID[n];
    var attempts = new Integer[n];
    var statuses = new String[n];
    var results = new String[n];
    var errors = new String[n];
    for (int i = 0; i < n; i++) {
      Finish finish = batch.get(i);
      ids[i] = finish.job().id();
      attempts[i] = finish.job().attempts();
      statuses[i] = finish.outcome().status().wire();
      results[i] = finish.outcome().resultJson();
      errors[i] = finish.outcome().error();
    }
    return pg.preparedQuery(JobSql.FINISH_MANY)
        .execute(Tuple.of(ids, attempts, statuses, results, errors))
        .map(rows -> {
          Set<UUID> matched = new HashSet<>();
          for (Row row : rows) {
            matched.add(row.getUUID(0));
          }
          var answers = new ArrayList<Boolean>(n);
          for (Finish finish : batch) {
            answers.add(matched.contains(finish.job().id()));
          }
          return answers;
        });
  }
}
