package io.spool.testing;

import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.PgConnection;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A PgBouncer of a test's own (Debian's {@code pgbouncer}) on a free port, in transaction mode, in
 * front of a real Postgres: one database, {@value #DATABASE}, whose server sessions are at most
 * {@code poolSize} and have the test's schema as their {@code search_path} (set by {@code
 * connect_query}, as the README tells users to). Its admin console answers {@code SHOW} commands.
 */
public final class PgBouncer implements AutoCloseable {
  /** The database name clients connect to; PgBouncer maps it to the real one. */
  public static final String DATABASE = "spool";

  private static final String HOW_TO_INSTALL =
      "apt-get install -y pgbouncer (bin/test installs it; the test starts its own, no service)";

  private final int port;
  private final String user;
  private final Path dir;
  private final Process process;

  /** For the admin console's connections. */
  private final Vertx vertx = Vertx.vertx();

  private PgBouncer(int port, String user, Path dir, Process process) {
    this.port = port;
    this.user = user;
    this.dir = dir;
    this.process = process;
  }

  /**
   * Starts one in front of the Postgres at {@code pgUrl} ({@code postgresql://user@host:port/db}),
   * with at most {@code poolSize} server sessions, each with {@code schema} as its search_path
   * (null: the role's own, as in a PgBouncer nobody set up for Spool); returns once it accepts
   * connections.
   */
  public static PgBouncer inFrontOf(String pgUrl, String schema, int poolSize) {
    URI pg = URI.create(pgUrl);
    String userInfo = pg.getUserInfo() == null ? "postgres" : pg.getUserInfo();
    String user = userInfo.split(":", 2)[0];
    String password = userInfo.contains(":") ? userInfo.split(":", 2)[1] : null;
    int port = freePort();
    try {
      Path dir = Files.createTempDirectory("spool-pgbouncer");
      // Started as root, PgBouncer drops to nobody, who must still read its files.
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
      Files.writeString(dir.resolve("users.txt"), "\"" + user + "\" \"\"\n");
      String server =
          "host=%s port=%d dbname=%s user=%s%s pool_size=%d%s"
              .formatted(
                  pg.getHost(),
                  pg.getPort() < 0 ? 5432 : pg.getPort(),
                  pg.getPath().substring(1),
                  user,
                  password == null ? "" : " password=" + password,
                  poolSize,
                  schema == null ? "" : " connect_query='SET search_path TO " + schema + "'");
      Files.writeString(
          dir.resolve("pgbouncer.ini"),
          """
          [databases]
          %s = %s
          [pgbouncer]
          listen_addr = 127.0.0.1
          listen_port = %d
          unix_socket_dir =
          auth_type = trust
          auth_file = %s
          admin_users = %s
          pool_mode = transaction
          default_pool_size = %d
          max_client_conn = 1000
          ; Vert.x sends it when it connects to the admin console
          ignore_startup_parameters = extra_float_digits
          log_connections = 0
          log_disconnections = 0
          """
              .formatted(DATABASE, server, port, dir.resolve("users.txt"), user, poolSize));
      // Debian puts it in /usr/sbin, which only root's PATH has.
      Path sbin = Path.of("/usr/sbin/pgbouncer");
      var command =
          new ArrayList<>(List.of(Files.isExecutable(sbin) ? sbin.toString() : "pgbouncer"));
      if ("root".equals(System.getProperty("user.name"))) {
        command.addAll(List.of("-u", "nobody")); // it refuses to run as root
      }
      command.add(dir.resolve("pgbouncer.ini").toString());
      Process process;
      try {
        process =
            new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("pgbouncer.log").toFile())
                .start();
      } catch (IOException e) {
        throw new IllegalStateException(
            "could not run pgbouncer (" + HOW_TO_INSTALL + "): " + e.getMessage(), e);
      }
      var bouncer = new PgBouncer(port, user, dir, process);
      bouncer.awaitListening();
      return bouncer;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The URL clients use: {@code postgresql://user@127.0.0.1:port/spool}. */
  public String url() {
    return "postgresql://" + user + "@127.0.0.1:" + port + "/" + DATABASE;
  }

  /**
   * One of the admin console's {@code SHOW} lists ({@code POOLS}, {@code STATS}, {@code SERVERS},
   * {@code CLIENTS}), each row as column → value, for the database {@value #DATABASE} only.
   */
  public List<Map<String, String>> show(String list) {
    // The console speaks only the simple protocol and sets nothing (pgjdbc's SETs are refused).
    var console =
        new PgConnectOptions()
            .setHost("127.0.0.1")
            .setPort(port)
            .setDatabase("pgbouncer")
            .setUser(user)
            .setProperties(Map.of("application_name", "spool-test"));
    SqlConnection connection = PgConnection.connect(vertx, console).await();
    try {
      var result = new ArrayList<Map<String, String>>();
      for (Row row : connection.query("SHOW " + list).execute().await()) {
        var columns = new LinkedHashMap<String, String>();
        for (int i = 0; i < row.size(); i++) {
          columns.put(row.getColumnName(i), String.valueOf(row.getValue(i)));
        }
        if (DATABASE.equals(columns.get("database"))) {
          result.add(columns);
        }
      }
      return result;
    } finally {
      connection.close().await();
    }
  }

  /** Statements PgBouncer has passed on to Postgres for {@value #DATABASE} since it started. */
  public long queryCount() {
    return show("STATS").stream().mapToLong(r -> Long.parseLong(r.get("total_query_count"))).sum();
  }

  /** What PgBouncer logged, for a failing test's message. */
  public String log() {
    try {
      return Files.readString(dir.resolve("pgbouncer.log"));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  @Override
  public void close() {
    vertx.close().await();
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try (var files = Files.list(dir)) {
      for (Path file : files.toList()) {
        Files.deleteIfExists(file);
      }
      Files.deleteIfExists(dir);
    } catch (IOException ignored) {
      // a temporary directory: left for the system to clear
    }
  }

  private void awaitListening() {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException(
            "pgbouncer exited with " + process.exitValue() + " at start:\n" + log());
      }
      try (var socket = new Socket()) {
        socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return;
      } catch (IOException e) {
        sleep();
      }
    }
    close();
    throw new IllegalStateException("pgbouncer on port " + port + " did not start:\n" + log());
  }

  private static int freePort() {
    try (var socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void sleep() {
    try {
      Thread.sleep(50);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
