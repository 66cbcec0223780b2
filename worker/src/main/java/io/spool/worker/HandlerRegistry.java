package io.spool.worker;

import io.spool.handler.JobHandler;
import io.spool.model.Names;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeMap;

/** The job handlers on this worker's class path, found through {@link ServiceLoader}, by type. */
final class HandlerRegistry {
  private final Map<String, JobHandler> byType;

  private HandlerRegistry(Map<String, JobHandler> byType) {
    this.byType = Map.copyOf(byType);
  }

  /** Loads every handler; a bad type name or two handlers of one type stop the worker from starting. */
  static HandlerRegistry load() {
    var byType = new TreeMap<String, JobHandler>();
    for (JobHandler handler : ServiceLoader.load(JobHandler.class)) {
      String type = handler.type();
      if (type == null || !Names.JOB_TYPE.matcher(type).matches()) {
        throw new IllegalStateException(handler.getClass().getName() + " declares an invalid job type: " + type);
      }
      JobHandler previous = byType.putIfAbsent(type, handler);
      if (previous != null) {
        throw new IllegalStateException("two handlers for job type '" + type + "': "
            + previous.getClass().getName() + " and " + handler.getClass().getName());
      }
    }
    return new HandlerRegistry(byType);
  }

  JobHandler get(String type) {
    return byType.get(type);
  }

  Set<String> types() {
    return new java.util.TreeSet<>(byType.keySet());
  }
}
