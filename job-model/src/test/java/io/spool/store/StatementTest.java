package io.spool.store;

import io.spool.config.SpoolConfig;
import io.spool.model.Job;
import io.spool.testing.JobFixtures;
import io.spool.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Transaction;
import io.vertx.sqlclient.Tuple;
import io.vertx.sqlclient.templates.SqlTemplate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInfo;

/**
 * Tests of single statements against real Postgres, River's driver tests being the model: each test
 * class gets its own migrated schema, each test runs in one transaction that is rolled back at its
 * end, so a test sees only the rows it made. Inside one transaction {@code now()} stands still;
 * statements that compare against it see times set relative to it.
 */
abstract class StatementTest {
  private static SpoolConfig config;
  private static Vertx vertx;
  private static Pool pool;

  /** The connection of the running test, inside its transaction. */
  protected SqlConnection db;

  private Transaction tx;

  @BeforeAll
  static void migrate(TestInfo info) {
    config = TestServices.isolatedConfig(info.getTestClass().orElseThrow());
    Migrations.apply(config);
    vertx = Vertx.vertx();
    pool = PgClients.pool(vertx, config, 1);
  }

  @AfterAll
  static void dropSchema() {
    pool.close().await();
    vertx.close().await();
    TestServices.cleanUp(config);
  }

  @BeforeEach
  void begin() {
    db = pool.getConnection().await();
    tx = db.begin().await();
  }

  @AfterEach
  void rollBack() {
    try {
      tx.rollback().await();
    } finally {
      db.close().await();
    }
  }

  /**
   * Runs statement {@code sql} with these named parameters in the test's transaction, as Spool
   * does.
   */
  protected RowSet<Row> run(String sql, Map<String, Object> params) {
    return SqlTemplate.forQuery(db, sql).execute(params).await();
  }

  /**
   * Runs test SQL (positional parameters) in the test's transaction, to set up or inspect state.
   */
  protected RowSet<Row> sql(String sql, Object... params) {
    return db.preparedQuery(sql).execute(Tuple.from(params)).await();
  }

  /** Inserts this job as the gateway does (pending, due unless said otherwise). */
  protected UUID insert(JobFixtures job) {
    return job.insert(db);
  }

  /**
   * Puts job {@code id} in the state a worker's claim would leave: running attempt {@code attempt}
   * of {@code worker}.
   */
  protected void makeRunning(UUID id, String worker, int attempt) {
    sql(
        "UPDATE jobs SET status = 'running', attempts = $2, lease_owner = $3, started_at = now() WHERE id = $1",
        id,
        attempt,
        worker);
  }

  /**
   * Sets columns of job {@code id} directly, for states no statement under test made: {@code
   * set(id, "status = 'failed'")}.
   */
  protected void set(UUID id, String assignments) {
    sql("UPDATE jobs SET " + assignments + " WHERE id = $1", id);
  }

  /** The job as stored now. */
  protected Job load(UUID id) {
    return JobFixtures.load(db, id).orElseThrow(() -> new AssertionError("no job " + id));
  }

  /**
   * One column of job {@code id} that {@link Job} does not carry (lease_owner, attempts_base,
   * discarded_at...).
   */
  protected Object column(UUID id, String column) {
    return sql("SELECT " + column + " FROM jobs WHERE id = $1", id).iterator().next().getValue(0);
  }

  /**
   * A worker row whose last heartbeat was {@code secsAgo} seconds before the transaction's now().
   */
  protected void worker(String id, int secsAgo) {
    sql(
        "INSERT INTO workers (id, queues, heartbeat_at) VALUES ($1, '{default}', now() - make_interval(secs => $2::int))",
        id,
        secsAgo);
  }

  /** The ids of {@code rows}' {@code id} column, in order. */
  protected static List<UUID> ids(RowSet<Row> rows) {
    var ids = new ArrayList<UUID>();
    for (Row row : rows) {
      ids.add(row.getUUID("id"));
    }
    return ids;
  }
}
