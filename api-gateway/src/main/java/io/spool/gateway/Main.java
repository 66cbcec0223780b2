package io.spool.gateway;

import io.spool.config.ConfigException;
import io.spool.config.SpoolConfig;

/** {@code spool gateway}: the HTTP API as a process of its own. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    Gateway gateway;
    try {
      gateway = Gateway.start(SpoolConfig.fromEnv());
    } catch (ConfigException e) {
      // Bad settings: the message names each one and what to change; status 2, as for bad usage.
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(gateway::close, "spool-shutdown"));
  }
}
