package io.spool.gateway;

import io.spool.config.SpoolConfig;
import io.spool.store.Migrations;
import io.spool.store.PgClients;
import io.spool.store.WorkerSql;
import io.spool.testing.HttpJson;
import io.spool.testing.TestServices;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.templates.SqlTemplate;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.util.Map;

/** An in-process gateway on its own schema, key prefix and port, with some job types registered. */
final class TestGateway implements AutoCloseable {
  final SpoolConfig config;
  final Gateway gateway;
  final HttpJson http;
  final String base;

  private TestGateway(SpoolConfig config, Gateway gateway) {
    this.config = config;
    this.gateway = gateway;
    this.base = "http://127.0.0.1:" + config.gateway().port();
    this.http = new HttpJson(base);
  }

  /** Registers {@code types} as a worker would have on its start-up, then starts the gateway. */
  static TestGateway start(Class<?> testClass, String... types) {
    return start(testClass, java.util.Map.of(), types);
  }

  /** The same, with extra SPOOL_* settings. */
  static TestGateway start(
      Class<?> testClass, java.util.Map<String, String> settings, String... types) {
    var env = TestServices.isolatedEnv(testClass);
    env.putAll(settings);
    try (var socket = new ServerSocket(0)) {
      env.put("SPOOL_HTTP_PORT", String.valueOf(socket.getLocalPort()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    SpoolConfig config = SpoolConfig.fromEnv(env);
    Migrations.apply(config);
    var vertx = Vertx.vertx();
    try {
      SqlTemplate.forQuery(PgClients.client(vertx, config), WorkerSql.REGISTER_TYPES)
          .execute(Map.of("types", types))
          .await();
    } finally {
      vertx.close().await();
    }
    return new TestGateway(config, Gateway.start(config));
  }

  @Override
  public void close() {
    gateway.close();
    TestServices.cleanUp(config);
  }
}
