package io.spool.worker;

import io.spool.handler.JobHandler;
import io.spool.model.Names;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/**
 * The job handlers of this worker, by type: the built-ins that need the worker's clients and
 * settings, and those on its class path, found through {@link ServiceLoader}.
 */
final class HandlerRegistry {
  private final Map<String, JobHandler> byType;

  private HandlerRegistry(Map<String, JobHandler> byType) {
    this.byType = Map.copyOf(byType);
  }

  /**
   * Loads every handler, or of them only those of the types {@code only} names if it names any; a
   * bad type name, two handlers of one type, or a type in {@code only} that no handler serves stop
   * the worker from starting.
   */
  static HandlerRegistry load(List<JobHandler> builtins, List<String> only) {
    var byType = new TreeMap<String, JobHandler>();
    var all = new ArrayList<>(builtins);
    ServiceLoader.load(JobHandler.class).forEach(all::add);
    for (JobHandler handler : all) {
      String type = handler.type();
      if (type == null || !Names.JOB_TYPE.matcher(type).matches()) {
        throw new IllegalStateException(
            handler.getClass().getName() + " declares an invalid job type: " + type);
      }
      JobHandler previous = byType.putIfAbsent(type, handler);
      if (previous != null) {
        throw new IllegalStateException(
            "two handlers for job type '"
                + type
                + "': "
                + previous.getClass().getName()
                + " and "
                + handler.getClass().getName());
      }
    }
    if (!only.isEmpty()) {
      var unserved = new java.util.TreeSet<>(only);
      unserved.removeAll(byType.keySet());
      if (!unserved.isEmpty()) {
        throw new IllegalStateException(
            "SPOOL_WORKER_TYPES names "
                + unserved
                + ", which no handler on this worker's class path serves; it has "
                + byType.keySet());
      }
      byType.keySet().retainAll(only);
    }
    return new HandlerRegistry(byType);
  }

  JobHandler get(String type) {
    return byType.get(type);
  }

  /** The types it serves, in name order. */
  List<String> types() {
    return List.copyOf(new java.util.TreeSet<>(byType.keySet()));
  }
}
