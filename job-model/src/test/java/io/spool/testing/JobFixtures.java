package io.spool.testing;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.model.Job;
import io.spool.model.JobIds;
import io.spool.model.JobJson;
import io.spool.model.Names;
import io.spool.model.NewJob;
import io.spool.signal.Keys;
import io.spool.store.JobRows;
import io.spool.store.SubmitSql;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import io.vertx.sqlclient.templates.SqlTemplate;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * Builders for test jobs that read like English: {@code
 * aJob("echo").withRequest("{...}").submit(...)}.
 */
public final class JobFixtures {
  private String type;
  private String queue = Names.DEFAULT_QUEUE;
  private String user = "anonymous";
  private JsonNode request = JobJson.MAPPER.createObjectNode();
  private int maxAttempts = 3;
  private int priority;
  private Instant runAt;
  private String callbackUrl;
  private String concurrencyKey;

  private JobFixtures(String type) {
    this.type = type;
  }

  public static JobFixtures aJob(String type) {
    return new JobFixtures(type);
  }

  public JobFixtures withRequest(String json) {
    this.request = JobJson.tree(json);
    return this;
  }

  public JobFixtures inQueue(String queue) {
    this.queue = queue;
    return this;
  }

  public JobFixtures withMaxAttempts(int maxAttempts) {
    this.maxAttempts = maxAttempts;
    return this;
  }

  public JobFixtures ofUser(String user) {
    this.user = user;
    return this;
  }

  public JobFixtures withPriority(int priority) {
    this.priority = priority;
    return this;
  }

  /** Not claimable before {@code runAt} (by default: due at once). */
  public JobFixtures dueAt(Instant runAt) {
    this.runAt = runAt;
    return this;
  }

  public JobFixtures withConcurrencyKey(String concurrencyKey) {
    this.concurrencyKey = concurrencyKey;
    return this;
  }

  public JobFixtures withCallbackUrl(String callbackUrl) {
    this.callbackUrl = callbackUrl;
    return this;
  }

  /**
   * Inserts the job as pending (by default priority 0, due now, timeout an hour), without
   * signalling it.
   */
  public UUID insert(SqlClient pg) {
    UUID id = JobIds.next();
    SqlTemplate.forQuery(pg, SubmitSql.INSERT_MANY)
        .execute(
            SubmitSql.insertParams(
                List.of(
                    new NewJob(
                        id,
                        type,
                        queue,
                        user,
                        request,
                        maxAttempts,
                        priority,
                        runAt,
                        3600,
                        callbackUrl,
                        null,
                        null,
                        concurrencyKey,
                        false,
                        null))))
        .await();
    return id;
  }

  /** Inserts the job and signals it on its queue's stream, as the gateway does. */
  public UUID submit(SqlClient pg, Redis redis, Keys keys) {
    UUID id = insert(pg);
    signal(redis, keys, queue, type, id);
    return id;
  }

  /** Signals job {@code id} of {@code type} on {@code queue}'s stream for the type. */
  public static void signal(Redis redis, Keys keys, String queue, String type, UUID id) {
    redis
        .send(
            Request.cmd(Command.XADD)
                .arg(keys.queueStream(queue, type))
                .arg("*")
                .arg(Keys.FIELD_JOB_ID)
                .arg(id.toString()))
        .await();
  }

  /** The job as stored now. */
  public static Optional<Job> load(SqlClient pg, UUID id) {
    var rows =
        pg.preparedQuery("SELECT " + JobRows.COLUMNS + " FROM jobs WHERE id = $1")
            .execute(Tuple.of(id))
            .await();
    return rows.size() == 0 ? Optional.empty() : Optional.of(JobRows.toJob(rows.iterator().next()));
  }
}
