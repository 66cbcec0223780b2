package io.spool.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the command-line checkers (promtool, yamllint) in deploy/ and asserts they pass. A missing
 * tool fails the test, saying how to install it: these checks never skip themselves green.
 */
final class Tools {
  /**
   * The Debian package of each tool; bin/test installs them (spool_deploy_tools in
   * bin/lib/common.sh).
   */
  private static final Map<String, String> DEBIAN_PACKAGE =
      Map.of("promtool", "prometheus", "yamllint", "yamllint");

  private static final long TIMEOUT_SECS = 60;

  private Tools() {}

  /**
   * Runs the command in deploy/ and fails, printing its output, unless it exits 0. Returns the
   * output.
   */
  static String assertPasses(String... command) {
    String tool = Path.of(command[0]).getFileName().toString();
    Path output;
    Process process;
    try {
      output = Files.createTempFile("spool-" + tool, ".out");
      process =
          new ProcessBuilder(command)
              .directory(DeployFiles.DEPLOY.toFile())
              .redirectErrorStream(true)
              .redirectOutput(output.toFile())
              .start();
    } catch (IOException e) {
      throw new AssertionError(
          tool
              + " is not installed ("
              + e.getMessage()
              + "). bin/test installs it; or, as root: "
              + "apt-get install --no-install-recommends "
              + DEBIAN_PACKAGE.getOrDefault(tool, tool),
          e);
    }
    try {
      if (!process.waitFor(TIMEOUT_SECS, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        fail(
            String.join(" ", command)
                + " did not finish within "
                + TIMEOUT_SECS
                + " s:\n"
                + Files.readString(output));
      }
      String printed = Files.readString(output);
      assertEquals(
          0,
          process.exitValue(),
          () ->
              String.join(" ", command)
                  + " failed (exit "
                  + process.exitValue()
                  + ", run in "
                  + DeployFiles.DEPLOY
                  + "):\n"
                  + printed);
      return printed;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while running " + tool, e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      output.toFile().delete();
    }
  }

  /** This JVM's own java launcher, to try the images' JVM flags on. */
  static String java() {
    return String.join(File.separator, List.of(System.getProperty("java.home"), "bin", "java"));
  }
}
