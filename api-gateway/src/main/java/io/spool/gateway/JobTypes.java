package io.spool.gateway;

import io.spool.handler.JobHandler;
import io.spool.net.HttpCall;
import io.spool.store.WorkerSql;
import io.vertx.core.Future;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The job types the gateway accepts: {@code http}, which every worker runs, handlers on its own
 * class path, plus every type a worker has registered in Postgres (so a gateway deployed without
 * the handlers' jars still knows them, and {@code llm} once a worker configured for it has
 * started).
 */
final class JobTypes {
  private static final Logger log = LoggerFactory.getLogger(JobTypes.class);

  /** A miss re-reads Postgres at most this often, so unknown types cannot hammer it. */
  private static final long MIN_REFRESH_NANOS = 1_000_000_000L;

  private final SqlClient pg;
  private final Set<String> local;
  private volatile Set<String> registered = Set.of();
  private volatile long refreshedAt = System.nanoTime() - MIN_REFRESH_NANOS;

  JobTypes(SqlClient pg) {
    this.pg = pg;
    this.local = loadLocal();
  }

  private static Set<String> loadLocal() {
    var types = new TreeSet<String>();
    // Every worker runs it; llm is known once a worker configured for it registers it.
    types.add(HttpCall.TYPE);
    var providers = ServiceLoader.load(JobHandler.class).iterator();
    while (true) {
      try {
        if (!providers.hasNext()) {
          return Set.copyOf(types);
        }
        types.add(providers.next().type());
      } catch (ServiceConfigurationError e) {
        log.warn("skipping a job handler that could not be loaded: {}", e.getMessage());
      }
    }
  }

  Set<String> known() {
    var all = new TreeSet<>(local);
    all.addAll(registered);
    return all;
  }

  /**
   * The types among {@code types} that no handler is known for, re-reading the registry on a miss.
   */
  Future<Set<String>> unknownAmong(Set<String> types) {
    Set<String> unknown = missing(types);
    if (unknown.isEmpty() || System.nanoTime() - refreshedAt < MIN_REFRESH_NANOS) {
      return Future.succeededFuture(unknown);
    }
    return refresh().map(v -> missing(types));
  }

  Future<Void> refresh() {
    refreshedAt = System.nanoTime();
    return pg.query(WorkerSql.SELECT_TYPES)
        .execute()
        .map(
            rows -> {
              registered =
                  StreamSupport.stream(rows.spliterator(), false)
                      .map((Row row) -> row.getString(0))
                      .collect(Collectors.toUnmodifiableSet());
              return null;
            });
  }

  private Set<String> missing(Set<String> types) {
    return types.stream()
        .filter(t -> !local.contains(t) && !registered.contains(t))
        .collect(Collectors.toSet());
  }
}
