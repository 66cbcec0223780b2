package io.spool.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spool.gateway.Problem;
import io.spool.store.PgClients;
import io.spool.testing.Eventually;
import io.spool.testing.HttpJson;
import io.spool.testing.TcpProxy;
import io.spool.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.SqlClient;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Postgres unreachable for longer than the visibility timeout, as the gateway and worker processes
 * see it.
 */
class PostgresOutageTest {
  static TcpProxy proxy;
  static ProcessCluster cluster;
  static HttpJson http;
  static Vertx vertx;
  static SqlClient direct;

  @BeforeAll
  static void start() {
    URI pg = URI.create(TestServices.pgUrl());
    proxy = TcpProxy.to(pg.getHost(), pg.getPort());
    String proxied =
        pg.getScheme() + "://" + pg.getRawUserInfo() + "@127.0.0.1:" + proxy.port() + pg.getPath();
    cluster =
        ProcessCluster.start(
            PostgresOutageTest.class,
            Map.of("SPOOL_VISIBILITY_TIMEOUT_SECS", "3", "SPOOL_HEARTBEAT_SECS", "1"),
            Map.of("SPOOL_PG_URL", proxied),
            1);
    http = cluster.http;
    vertx = Vertx.vertx();
    direct = PgClients.client(vertx, cluster.config);
  }

  @AfterAll
  static void stop() {
    cluster.close();
    proxy.close();
    vertx.close().await();
  }

  private static long jobCount() {
    return direct.query("SELECT count(*) FROM jobs").execute().await().iterator().next().getLong(0);
  }

  @Test
  void gatewayRefusesFastWhilePostgresIsAwayAndEverythingResumesAfter() throws Exception {
    String running =
        http.post("/v1/jobs", "{\"type\":\"sleep\",\"request\":{\"ms\":2500}}")
            .json()
            .get("id")
            .asText();
    Eventually.await(
        "the sleep job is running",
        Duration.ofSeconds(20),
        () -> http.get("/v1/jobs/" + running).json().get("status").asText().equals("running"));
    long stored = jobCount();

    proxy.cut();
    long sentAt = System.nanoTime();
    var refused = http.post("/v1/jobs", "{\"type\":\"echo\"}");
    long tookMillis = (System.nanoTime() - sentAt) / 1_000_000;
    assertEquals(503, refused.status(), refused.raw().body());
    assertEquals(Problem.CONTENT_TYPE, refused.header("Content-Type"));
    assertEquals("1", refused.header("Retry-After"));
    // Reported, not asserted: fast means the connect timeout (2 s) at worst.
    System.out.printf("503 while Postgres was unreachable came after %d ms%n", tookMillis);
    assertEquals(503, http.get("/health/ready").status());
    Thread.sleep(5000); // longer than the visibility timeout: every heartbeat is stale now
    proxy.restore();

    Eventually.await(
        "the job running through the outage completed",
        Duration.ofSeconds(30),
        () -> http.get("/v1/jobs/" + running).json().get("status").asText().equals("completed"));
    assertEquals(
        1,
        http.get("/v1/jobs/" + running).json().get("attempts").asInt(),
        "its own worker recorded it: not reaped as if the worker had died");
    assertEquals(stored, jobCount(), "the refused submission left nothing behind");

    var accepted = http.post("/v1/jobs", "{\"type\":\"echo\",\"request\":{\"after\":true}}");
    assertEquals(202, accepted.status(), accepted.raw().body());
    String id = accepted.json().get("id").asText();
    Eventually.await(
        "a job submitted after the outage completed",
        Duration.ofSeconds(30),
        () -> http.get("/v1/jobs/" + id).json().get("status").asText().equals("completed"));
    assertTrue(http.get("/v1/jobs/" + id).json().get("result").get("after").asBoolean());
  }
}
