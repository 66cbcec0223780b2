package io.spool.worker;

import io.spool.config.SpoolConfig;

/** {@code spool worker}: the worker daemon as a process of its own. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    Worker worker = Worker.start(SpoolConfig.fromEnvOrExit());
    Runtime.getRuntime().addShutdownHook(new Thread(worker::close, "spool-shutdown"));
  }
}
