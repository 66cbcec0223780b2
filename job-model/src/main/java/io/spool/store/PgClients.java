package io.spool.store;

import io.spool.config.SpoolConfig;
import io.spool.config.SpoolConfig.Pg.Pooler;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClientOptions;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.SqlClient;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Builds Postgres clients from the settings, all pointed at Spool's schema.
 *
 * <p>Straight to Postgres ({@code SPOOL_PG_POOLER=none}) a connection is one server session: its
 * {@code search_path} is set when it connects, and each statement is prepared once per connection
 * and cached. Behind a transaction pooler ({@code SPOOL_PG_POOLER=transaction}) each transaction,
 * and so each statement outside one, may run in another server session: statements are unnamed,
 * described in one round trip and parsed again before each execution in the next (Vert.x's layer-7
 * proxy mode), and the schema comes from the pooler's sessions, which {@link #requireSchema} checks
 * at start-up.
 */
public final class PgClients {
  /**
   * Statements one connection keeps in flight before waiting: the pipelining that makes batching
   * pay.
   */
  private static final int PIPELINING_LIMIT = 256;

  /** Postgres down must fail fast (a 503, a paused worker), not hang callers. */
  private static final int CONNECT_TIMEOUT_MILLIS = 2000;

  private static final int ACQUIRE_TIMEOUT_MILLIS = 5000;

  private static final String APPLICATION_NAME = "spool";

  private PgClients() {}

  private static PoolOptions poolOptions(int size) {
    return new PoolOptions()
        .setMaxSize(size)
        .setConnectionTimeout(ACQUIRE_TIMEOUT_MILLIS)
        .setConnectionTimeoutUnit(TimeUnit.MILLISECONDS);
  }

  /** Where the pools connect: {@code SPOOL_PG_URL}, through the pooler if there is one. */
  public static PgConnectOptions connectOptions(SpoolConfig config) {
    if (config.pg().pooler() == Pooler.TRANSACTION) {
      return PgConnectOptions.fromUri(config.pg().url())
          .setPipeliningLimit(PIPELINING_LIMIT)
          // A named statement lives in one server session, and the next statement may get another.
          .setCachePreparedStatements(false)
          // Parse is sent again with each Bind, before the same Sync, so that an unnamed statement
          // never has to outlive the transaction it was parsed in.
          .setUseLayer7Proxy(true)
          .setReconnectAttempts(0)
          // No search_path: PgBouncer refuses startup parameters it does not track.
          .setProperties(Map.of("application_name", APPLICATION_NAME));
    }
    return sessionOptions(config.pg().url(), config);
  }

  /**
   * A session of its own that bypasses any pooler ({@code SPOOL_PG_DIRECT_URL}): for {@code LISTEN}
   * and the migrations.
   */
  public static PgConnectOptions directConnectOptions(SpoolConfig config) {
    return sessionOptions(config.pg().directUrl(), config);
  }

  private static PgConnectOptions sessionOptions(String url, SpoolConfig config) {
    return PgConnectOptions.fromUri(url)
        .setPipeliningLimit(PIPELINING_LIMIT)
        .setCachePreparedStatements(true)
        .setReconnectAttempts(0)
        .setProperties(
            Map.of("search_path", config.pg().schema(), "application_name", APPLICATION_NAME));
  }

  /**
   * The direct database as a JDBC URL, for the start-up tools that need JDBC and a session of their
   * own (Flyway and its lock).
   */
  public static String jdbcUrl(SpoolConfig config) {
    PgConnectOptions pg = directConnectOptions(config);
    return "jdbc:postgresql://" + pg.getHost() + ":" + pg.getPort() + "/" + pg.getDatabase();
  }

  /**
   * Behind a transaction pooler, fails start-up unless statements sent through {@code pg} resolve
   * table names in Spool's schema: the pooler's server sessions must have it first on their {@code
   * search_path}, which Spool cannot set for them. Straight to Postgres each connection sets it
   * itself, and this sends nothing. Blocking, for start-up.
   */
  public static void requireSchema(SqlClient pg, SpoolConfig config) throws TimeoutException {
    if (config.pg().pooler() != Pooler.TRANSACTION) {
      return;
    }
    String schema = config.pg().schema();
    String current =
        pg.query("SELECT current_schema()")
            .execute()
            .await(30, TimeUnit.SECONDS)
            .iterator()
            .next()
            .getString(0);
    if (!schema.equals(current)) {
      throw new IllegalStateException(
          "SPOOL_PG_POOLER=transaction, but statements through SPOOL_PG_URL resolve names in "
              + (current == null ? "no existing schema" : "schema '" + current + "'")
              + ", not in SPOOL_PG_SCHEMA '"
              + schema
              + "'. A transaction pooler does not pass search_path on: give its server sessions"
              + " the schema, in pgbouncer.ini with connect_query='SET search_path TO "
              + schema
              + "' on the database's line, or in Postgres with ALTER ROLE <user> SET search_path"
              + " TO "
              + schema
              + " (README: Postgres connection budget)");
    }
  }

  /** The pipelined client for hot paths (one statement at a time, no transactions). */
  public static SqlClient client(Vertx vertx, SpoolConfig config) {
    return PgBuilder.client()
        .with(poolOptions(config.pg().poolSize()))
        .with(new NetClientOptions().setConnectTimeout(CONNECT_TIMEOUT_MILLIS))
        .connectingTo(connectOptions(config))
        .using(vertx)
        .build();
  }

  /**
   * A pipelined client whose statements are planned at every call, for batched reads by id ({@code
   * id = ANY($1)}): a plan cached while the jobs table was small and unanalyzed (a new schema,
   * autovacuum off or not yet run) is a sequential scan the connection would keep as the table
   * grows. Measured on a new schema with autovacuum off: 9 ms per batched read with the cached
   * plan, 0.07 ms planned each time.
   */
  public static SqlClient replanningClient(Vertx vertx, SpoolConfig config, int size) {
    PgConnectOptions options = connectOptions(config);
    var properties = new java.util.HashMap<>(options.getProperties());
    if (config.pg().pooler() == Pooler.NONE) {
      // Behind a transaction pooler statements are unnamed, so planned at every call already.
      properties.put("plan_cache_mode", "force_custom_plan");
    }
    return PgBuilder.client()
        .with(poolOptions(size))
        .with(new NetClientOptions().setConnectTimeout(CONNECT_TIMEOUT_MILLIS))
        .connectingTo(options.setProperties(properties))
        .using(vertx)
        .build();
  }

  /** A pool, for the few places that need a transaction or a connection of their own. */
  public static Pool pool(Vertx vertx, SpoolConfig config, int size) {
    return PgBuilder.pool()
        .with(poolOptions(size))
        .with(new NetClientOptions().setConnectTimeout(CONNECT_TIMEOUT_MILLIS))
        .connectingTo(connectOptions(config))
        .using(vertx)
        .build();
  }
}
