package io.spool.worker;

import io.spool.handler.JobHandler;
import io.spool.model.Names;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
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
   * Loads every handler; a bad type name or two handlers of one type stop the worker from starting.
   */
  static HandlerRegistry load(List<JobHandler> builtins) {
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
    return new HandlerRegistry(byType);
  }

  JobHandler get(String type) {
    return byType.get(type);
  }

  Set<String> types() {
    return new java.util.TreeSet<>(byType.keySet());
  }
}
