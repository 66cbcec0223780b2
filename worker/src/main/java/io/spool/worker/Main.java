package io.spool.worker;

import io.spool.model.ConfigException;
import io.spool.model.SpoolConfig;

/** {@code spool worker}: the worker daemon as a process of its own. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    SpoolConfig config;
    try {
      config = SpoolConfig.fromEnv();
    } catch (ConfigException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    Worker worker = Worker.start(config);
    Runtime.getRuntime().addShutdownHook(new Thread(worker::close, "spool-shutdown"));
  }
}
