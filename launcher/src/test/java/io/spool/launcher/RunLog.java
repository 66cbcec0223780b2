package io.spool.launcher;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The lines test handlers append per run ("job-id attempt ..."), read back across worker processes.
 */
final class RunLog {
  private RunLog() {}

  static Path newFile(Path dir) {
    try {
      return Files.createTempFile(Files.createDirectories(dir), "runs-", ".txt");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static List<String[]> lines(List<Path> files) {
    var lines = new ArrayList<String[]>();
    for (Path file : files) {
      try {
        Files.readAllLines(file).forEach(line -> lines.add(line.split(" ")));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return lines;
  }

  /** How many times each job id appears (first field). */
  static Map<String, Integer> runsPerJob(List<Path> files) {
    var runs = new HashMap<String, Integer>();
    lines(files).forEach(fields -> runs.merge(fields[0], 1, Integer::sum));
    return runs;
  }
}
