package io.spool.launcher;

import io.spool.bench.BenchCommand;
import io.spool.config.ConfigException;
import io.spool.config.SpoolConfig;
import io.spool.gateway.Gateway;
import io.spool.store.Migrations;
import io.spool.worker.Worker;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code spool} command. Settings come from {@code SPOOL_*} environment variables (see README).
 */
@Command(
    name = "spool",
    mixinStandardHelpOptions = true,
    version = "spool 0.1.0",
    description = "A durable job queue for long-running, I/O-bound work.",
    subcommands = {
      SpoolCli.GatewayCommand.class,
      SpoolCli.WorkerCommand.class,
      SpoolCli.DevCommand.class,
      SpoolCli.MigrateCommand.class,
      BenchCommand.class
    })
public final class SpoolCli implements Callable<Integer> {
  @Override
  public Integer call() {
    CommandLine.usage(this, System.out);
    return 2;
  }

  public static void main(String[] args) {
    var cli = new CommandLine(new SpoolCli());
    cli.setExecutionExceptionHandler(
        (e, commandLine, parsed) -> {
          if (e instanceof ConfigException) {
            System.err.println(e.getMessage());
            return 2;
          }
          System.err.println("spool " + commandLine.getCommandName() + ": " + e.getMessage());
          return 1;
        });
    int code = cli.execute(args);
    // Long-running commands return -1 and keep their non-daemon threads; the rest exit here.
    if (code >= 0) {
      System.exit(code);
    }
  }

  static void onShutdown(AutoCloseable... running) {
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  for (AutoCloseable closeable : running) {
                    try {
                      closeable.close();
                    } catch (Exception e) {
                      System.err.println("spool: error while stopping: " + e);
                    }
                  }
                },
                "spool-shutdown"));
  }

  @Command(
      name = "gateway",
      mixinStandardHelpOptions = true,
      description = "Run the HTTP API gateway.")
  static final class GatewayCommand implements Callable<Integer> {
    @Override
    public Integer call() {
      onShutdown(Gateway.start(SpoolConfig.fromEnv()));
      return -1;
    }
  }

  @Command(name = "worker", mixinStandardHelpOptions = true, description = "Run a worker daemon.")
  static final class WorkerCommand implements Callable<Integer> {
    @Override
    public Integer call() {
      onShutdown(Worker.start(SpoolConfig.fromEnv()));
      return -1;
    }
  }

  @Command(
      name = "dev",
      mixinStandardHelpOptions = true,
      description = "Run a gateway and a worker in one process, for trying Spool out.")
  static final class DevCommand implements Callable<Integer> {
    @Override
    public Integer call() {
      var env = new java.util.HashMap<>(System.getenv());
      if (!env.containsKey("SPOOL_AUTH")
          && !env.containsKey("SPOOL_API_KEYS")
          && !env.containsKey("SPOOL_API_KEYS_FILE")) {
        env.put("SPOOL_AUTH", "none");
        System.out.println(
            "spool dev: no API keys set, so SPOOL_AUTH=none: the API asks for no key "
                + "(set SPOOL_API_KEYS=key=user to try keys)");
      }
      SpoolConfig config = SpoolConfig.fromEnv(env);
      Gateway gateway = Gateway.start(config);
      Worker worker = Worker.start(config);
      onShutdown(worker, gateway);
      System.out.printf(
          "spool dev: gateway on http://127.0.0.1:%d, worker %s with %d slots. Try:%n"
              + "  curl -s -XPOST localhost:%d/v1/jobs -H 'Content-Type: application/json' -d '{\"type\":\"echo\",\"request\":{\"hi\":1}}'%n",
          config.gateway().port(),
          worker.id(),
          config.worker().concurrency(),
          config.gateway().port());
      return -1;
    }
  }

  @Command(
      name = "migrate",
      mixinStandardHelpOptions = true,
      description =
          "Bring the Postgres schema up to date and exit (gateways and workers also do this at start-up).")
  static final class MigrateCommand implements Callable<Integer> {
    @Override
    public Integer call() {
      SpoolConfig config = SpoolConfig.fromEnv();
      var result = Migrations.apply(config);
      System.out.printf(
          "schema '%s' is up to date (%d migrations applied now)%n",
          config.pg().schema(), result.migrationsExecuted);
      return 0;
    }
  }
}
