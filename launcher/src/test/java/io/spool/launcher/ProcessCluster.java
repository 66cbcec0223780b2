package io.spool.launcher;

import io.spool.config.SpoolConfig;
import io.spool.store.Migrations;
import io.spool.testing.HttpJson;
import io.spool.testing.TestServices;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A gateway process and worker processes on a schema and key prefix of their own. Each worker
 * writes the runs of the test job types to a run log of its own.
 */
final class ProcessCluster implements AutoCloseable {
  static final Path LOGS = Path.of("target", "e2e-logs");
  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

  /** The test's own view of the settings (Postgres and Redis reached directly). */
  final SpoolConfig config;

  /** What the processes get. */
  final Map<String, String> processEnv;

  final SpoolProcess gateway;
  final List<SpoolProcess> gateways = new ArrayList<>();
  final List<SpoolProcess> workers = new ArrayList<>();
  final List<Path> runLogs = new ArrayList<>();
  final HttpJson http;

  private ProcessCluster(SpoolConfig config, Map<String, String> processEnv) {
    this.config = config;
    this.processEnv = processEnv;
    this.gateway = SpoolProcess.start("gateway", processEnv, LOGS);
    this.http = new HttpJson("http://127.0.0.1:" + processEnv.get("SPOOL_HTTP_PORT"));
  }

  /**
   * @param settings extra SPOOL_* settings, for the test and the processes alike
   * @param processOnly settings only the processes see (say, a proxied Postgres URL)
   */
  static ProcessCluster start(
      Class<?> test, Map<String, String> settings, Map<String, String> processOnly, int workers) {
    Map<String, String> env = TestServices.isolatedEnv(test);
    env.put("SPOOL_HTTP_PORT", String.valueOf(freePort()));
    env.putAll(settings);
    SpoolConfig config = SpoolConfig.fromEnv(env);
    Migrations.apply(config);
    var processEnv = new HashMap<>(env);
    processEnv.putAll(processOnly);
    var cluster = new ProcessCluster(config, processEnv);
    try {
      for (int i = 0; i < workers; i++) {
        cluster.addWorker();
      }
      cluster.gateway.awaitOutput("gateway listening", START_TIMEOUT);
      cluster.workers.forEach(ProcessCluster::awaitRunning);
      return cluster;
    } catch (RuntimeException | AssertionError e) {
      // The test never gets the cluster to close: a process that did start must not outlive it.
      cluster.close();
      throw e;
    }
  }

  static ProcessCluster start(Class<?> test, Map<String, String> settings, int workers) {
    return start(test, settings, Map.of(), workers);
  }

  /** Starts one more worker process; it is running once {@link #awaitRunning} returns. */
  SpoolProcess addWorker() {
    return addWorker(Map.of());
  }

  /** The same, with settings of its own on top of the cluster's. */
  SpoolProcess addWorker(Map<String, String> settings) {
    var env = new HashMap<>(processEnv);
    env.putAll(settings);
    Path runLog = RunLog.newFile(LOGS);
    runLogs.add(runLog);
    env.put("SPOOL_TEST_RUN_LOG", runLog.toString());
    SpoolProcess worker = SpoolProcess.start("worker", env, LOGS);
    workers.add(worker);
    return worker;
  }

  /** Starts one more gateway on a port of its own, and answers once it is listening. */
  HttpJson addGateway() {
    var env = new HashMap<>(processEnv);
    String port = String.valueOf(freePort());
    env.put("SPOOL_HTTP_PORT", port);
    env.put("SPOOL_METRICS_PORT", String.valueOf(freePort()));
    SpoolProcess another = SpoolProcess.start("gateway", env, LOGS);
    gateways.add(another);
    another.awaitOutput("gateway listening", START_TIMEOUT);
    return new HttpJson("http://127.0.0.1:" + port);
  }

  /** How many of the cluster's jobs have this status, read from Postgres. */
  long countJobs(String status) {
    return countJobs(status, null);
  }

  /** How many of the cluster's jobs of this type (null: any) have this status. */
  long countJobs(String status, String type) {
    var pg = io.spool.store.PgClients.connectOptions(config);
    try (var connection =
            java.sql.DriverManager.getConnection(
                io.spool.store.PgClients.jdbcUrl(config), pg.getUser(), pg.getPassword());
        var statement =
            connection.prepareStatement(
                "SELECT count(*) FROM "
                    + config.pg().schema()
                    + ".jobs WHERE status = ? AND (?::text IS NULL OR type = ?)")) {
      statement.setString(1, status);
      statement.setString(2, type);
      statement.setString(3, type);
      try (var rows = statement.executeQuery()) {
        rows.next();
        return rows.getLong(1);
      }
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  static void awaitRunning(SpoolProcess worker) {
    worker.awaitOutput("slots on queues", START_TIMEOUT);
  }

  static int freePort() {
    try (var socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    workers.forEach(SpoolProcess::close);
    gateways.forEach(SpoolProcess::close);
    gateway.close();
    TestServices.cleanUp(config);
  }
}
