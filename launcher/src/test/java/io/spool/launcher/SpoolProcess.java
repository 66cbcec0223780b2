package io.spool.launcher;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A gateway or worker running as a real child JVM, on the test's class path, with its output in a
 * file. {@link #close()} stops it with SIGTERM, {@link #kill()} with SIGKILL.
 */
final class SpoolProcess implements AutoCloseable {
  private final String command;
  private final Process process;
  private final Path log;

  private SpoolProcess(String command, Process process, Path log) {
    this.command = command;
    this.process = process;
    this.log = log;
  }

  static SpoolProcess start(String command, Map<String, String> env, Path logDir) {
    return start(List.of(), command, env, logDir);
  }

  /**
   * The same, on one CPU ({@code taskset -c 0}): its threads then take turns, as on a busy machine,
   * which opens the races of a start-up wide.
   */
  static SpoolProcess startOnOneCpu(String command, Map<String, String> env, Path logDir) {
    return start(List.of("taskset", "-c", "0"), command, env, logDir);
  }

  private static SpoolProcess start(
      List<String> prefix, String command, Map<String, String> env, Path logDir) {
    String java = ProcessHandle.current().info().command().orElse("java");
    // The production logging set-up (SPOOL_LOG_FORMAT included), not the tests' logback-test.xml.
    List<String> argv = new ArrayList<>(prefix);
    argv.addAll(
        List.of(
            java,
            "--enable-native-access=ALL-UNNAMED", // as bin/spool: epoll loads a native library
            "-Xmx512m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Dlogback.configurationFile=logback.xml",
            "-cp",
            System.getProperty("java.class.path"),
            SpoolCli.class.getName(),
            command));
    try {
      Files.createDirectories(logDir);
      Path log = Files.createTempFile(logDir, command + "-", ".log");
      var builder = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(log.toFile());
      builder.environment().putAll(env);
      return new SpoolProcess(command, builder.start(), log);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  String output() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Waits until the process has printed {@code marker}; fails with its output if it exits or times
   * out.
   */
  void awaitOutput(String marker, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!output().contains(marker)) {
      if (!process.isAlive()) {
        throw new AssertionError(
            command
                + " exited with "
                + process.exitValue()
                + " before printing '"
                + marker
                + "':\n"
                + output());
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            command + " did not print '" + marker + "' within " + timeout + ":\n" + output());
      }
      sleep(50);
    }
  }

  long pid() {
    return process.pid();
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** SIGKILL: no shutdown hook runs, as when a machine dies. */
  void kill() {
    process.destroyForcibly();
    waitFor();
  }

  @Override
  public void close() {
    process.destroy();
    waitFor();
  }

  private void waitFor() {
    try {
      if (!process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
