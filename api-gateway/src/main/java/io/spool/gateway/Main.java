package io.spool.gateway;

import io.spool.config.ConfigException;
import io.spool.config.SpoolConfig;

/** {@code spool gateway}: the HTTP API as a process of its own. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    Gateway gateway;
    try {
      gateway = Gateway.start(SpoolConfig.fromEnvOrExit());
    } catch (ConfigException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(gateway::close, "spool-shutdown"));
  }
}
