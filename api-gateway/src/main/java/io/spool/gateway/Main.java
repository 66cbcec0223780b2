package io.spool.gateway;

import io.spool.model.ConfigException;
import io.spool.model.SpoolConfig;

/** {@code spool gateway}: the HTTP API as a process of its own. */
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
    Gateway gateway = Gateway.start(config);
    Runtime.getRuntime().addShutdownHook(new Thread(gateway::close, "spool-shutdown"));
  }
}
