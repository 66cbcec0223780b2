package io.spool.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spool.config.SpoolConfig;
import io.spool.model.Job;
import io.spool.model.JobIds;
import io.spool.model.JobJson;
import io.spool.model.JobStatus;
import io.spool.model.NewJob;
import io.spool.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import io.vertx.sqlclient.templates.SqlTemplate;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class MigrationsTest {
  private static SpoolConfig config;
  private static Vertx vertx;

  @BeforeAll
  static void setUp() {
    config = TestServices.isolatedConfig(MigrationsTest.class);
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void tearDown() {
    vertx.close().await();
    TestServices.cleanUp(config);
  }

  @Test
  void migratesAnEmptySchemaThenFindsNothingLeftToDo() {
    var first = Migrations.apply(config);
    assertTrue(first.migrationsExecuted >= 1, "migrations ran on an empty schema");
    assertEquals(0, Migrations.apply(config).migrationsExecuted, "a second run has nothing to do");

    var pg = PgClients.client(vertx, config);
    var tables =
        StreamSupport.stream(
                pg.preparedQuery(
                        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1")
                    .execute(Tuple.of(config.pg().schema()))
                    .await()
                    .spliterator(),
                false)
            .map(row -> row.getString(0))
            .collect(Collectors.toSet());
    assertTrue(
        tables.containsAll(Set.of("jobs", "job_types", "spool_schema_history")), tables.toString());

    // The schema accepts exactly the five statuses.
    var id = JobIds.next();
    SqlTemplate.forQuery(pg, SubmitSql.INSERT_MANY)
        .execute(
            SubmitSql.insertParams(
                List.of(
                    new NewJob(
                        id,
                        "echo",
                        "default",
                        "u",
                        JobJson.tree("{\"a\":1}"),
                        3,
                        0,
                        null,
                        60,
                        null,
                        null,
                        null,
                        null,
                        false,
                        null))))
        .await();
    List<Row> rows =
        StreamSupport.stream(
                SqlTemplate.forQuery(pg, UserJobSql.SELECT_OWN)
                    .execute(Map.of("id", id, "user", "u"))
                    .await()
                    .spliterator(),
                false)
            .toList();
    Job job = JobRows.toJob(rows.get(0));
    assertEquals(JobStatus.PENDING, job.status());
    assertEquals(1, job.request().get("a").asInt());
    assertThrows(
        Exception.class, () -> pg.query("UPDATE jobs SET status = 'exploded'").execute().await());
  }
}
