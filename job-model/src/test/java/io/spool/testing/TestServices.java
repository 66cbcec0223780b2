package io.spool.testing;

import io.spool.config.SpoolConfig;
import io.spool.store.PgClients;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Finds the Redis and Postgres the tests talk to and gives each test class its own Postgres schema
 * and Redis key prefix, so test classes can run beside each other and beside left-over data.
 *
 * <p>Where: {@code SPOOL_TEST_PG_URL} / {@code SPOOL_TEST_REDIS_URL} if set, else the local
 * services on their default ports, else containers when Docker is available. If none answers, the
 * test fails with a message saying how to start them; it never skips.
 */
public final class TestServices {
  private static final String HOW_TO_START =
      """
      Start the local services (bin/test does this for you), or point SPOOL_TEST_PG_URL / SPOOL_TEST_REDIS_URL at running ones:
        redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
        pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start""";

  private static String pgUrl;
  private static String redisUrl;

  private TestServices() {}

  public static synchronized String pgUrl() {
    if (pgUrl == null) {
      pgUrl = locate("SPOOL_TEST_PG_URL", SpoolConfig.DEFAULT_PG_URL, 5432, "postgres:16-alpine");
    }
    return pgUrl;
  }

  public static synchronized String redisUrl() {
    if (redisUrl == null) {
      redisUrl =
          locate("SPOOL_TEST_REDIS_URL", SpoolConfig.DEFAULT_REDIS_URL, 6379, "redis:7-alpine");
    }
    return redisUrl;
  }

  /** Settings for one test class: a fresh schema and key prefix named after it. */
  public static Map<String, String> isolatedEnv(Class<?> testClass) {
    String tag = testClass.getSimpleName().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]", "");
    tag =
        tag.substring(0, Math.min(tag.length(), 40))
            + "_"
            + Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36);
    var env = new HashMap<String, String>();
    env.put("SPOOL_PG_URL", pgUrl());
    env.put("SPOOL_REDIS_URL", redisUrl());
    env.put("SPOOL_PG_SCHEMA", "t_" + tag);
    env.put("SPOOL_KEY_PREFIX", "t-" + tag);
    // Tests of other things go without API keys; AuthTest sets them.
    env.put("SPOOL_AUTH", "none");
    // Several workers run at once in tests: each takes a free port for its metrics and health.
    env.put("SPOOL_METRICS_PORT", "0");
    return env;
  }

  public static SpoolConfig isolatedConfig(Class<?> testClass) {
    return SpoolConfig.fromEnv(isolatedEnv(testClass));
  }

  /** Drops a test's schema and Redis keys. */
  public static void cleanUp(SpoolConfig config) {
    var pg = PgClients.directConnectOptions(config);
    try (var connection =
            DriverManager.getConnection(PgClients.jdbcUrl(config), pg.getUser(), pg.getPassword());
        var statement = connection.createStatement()) {
      statement.execute("DROP SCHEMA IF EXISTS " + config.pg().schema() + " CASCADE");
    } catch (SQLException e) {
      throw new IllegalStateException("could not drop test schema " + config.pg().schema(), e);
    }
    if (config.redis().mode() != SpoolConfig.RedisMode.STANDALONE
        || config.redis().url().startsWith("rediss:")) {
      return; // a cluster, Sentinel set or TLS server of the test's own, thrown away with its keys
    }
    URI redis = URI.create(config.redis().url());
    try (var socket = new Socket(redis.getHost(), redis.getPort() < 0 ? 6379 : redis.getPort())) {
      String script =
          "for _,p in ipairs(ARGV) do"
              + " for _,k in ipairs(redis.call('KEYS', p)) do redis.call('DEL', k) end end";
      List<String> patterns = config.keys().patterns();
      OutputStream out = socket.getOutputStream();
      out.write(resp("EVAL", script, "0", patterns.get(0), patterns.get(1)));
      out.flush();
      socket.getInputStream().read();
    } catch (java.net.ConnectException e) {
      // A Redis of the test's own, already stopped: nothing left to delete.
    } catch (IOException e) {
      throw new IllegalStateException(
          "could not delete test keys under " + config.redis().keyPrefix(), e);
    }
  }

  private static byte[] resp(String... args) {
    var command = new StringBuilder("*").append(args.length).append("\r\n");
    for (String arg : args) {
      command
          .append('$')
          .append(arg.getBytes(StandardCharsets.UTF_8).length)
          .append("\r\n")
          .append(arg)
          .append("\r\n");
    }
    return command.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static String locate(String variable, String localUrl, int port, String image) {
    String configured = System.getenv(variable);
    if (configured != null && !configured.isBlank()) {
      if (!answers(URI.create(configured))) {
        throw new IllegalStateException(
            variable + "=" + configured + " does not answer.\n" + HOW_TO_START);
      }
      return configured;
    }
    if (answers(URI.create(localUrl))) {
      return localUrl;
    }
    if (Containers.dockerAvailable()) {
      return Containers.start(image, port, localUrl);
    }
    throw new IllegalStateException(
        "No service answers at " + localUrl + " and Docker is not available.\n" + HOW_TO_START);
  }

  private static boolean answers(URI uri) {
    try (var socket = new Socket()) {
      socket.connect(new InetSocketAddress(uri.getHost(), uri.getPort()), 1000);
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
