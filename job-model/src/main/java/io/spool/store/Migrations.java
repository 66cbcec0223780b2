package io.spool.store;

import io.spool.config.SpoolConfig;
import io.vertx.pgclient.PgConnectOptions;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;

/**
 * Applies the versioned SQL migrations under {@code db/spool} on the class path to the configured
 * schema, over {@code SPOOL_PG_DIRECT_URL}. Safe to run from every gateway and worker at start-up
 * at once: Flyway serialises them with an advisory lock, which lives in a session (so never through
 * a transaction pooler).
 */
public final class Migrations {
  public static final String LOCATION = "classpath:db/spool";

  private Migrations() {}

  /** Brings the schema up to date, creating it if needed; blocking, for start-up only. */
  public static MigrateResult apply(SpoolConfig config) {
    PgConnectOptions pg = PgClients.directConnectOptions(config);
    return Flyway.configure()
        .dataSource(PgClients.jdbcUrl(config), pg.getUser(), pg.getPassword())
        .schemas(config.pg().schema())
        .defaultSchema(config.pg().schema())
        .createSchemas(true)
        .locations(LOCATION)
        .table("spool_schema_history")
        .connectRetries(5)
        .load()
        .migrate();
  }
}
