package io.spool.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * CPU time used by named processes, read from Linux's {@code /proc}: a process's own user and
 * system time, that of its live descendants (Postgres serves each connection from a child of the
 * postmaster), and that of the children it has already reaped. Sampled before and after a run, the
 * difference is what the run cost each process, whatever else it waited on.
 */
final class ProcessCpu {
  /** Clock ticks per second of {@code /proc/PID/stat}'s times: 100 on every Linux this runs on. */
  private static final double TICKS_PER_SEC = 100;

  private final Map<String, Long> pids;

  /**
   * @param pids process name (as reported) to pid; the bench's own process is added as "bench"
   */
  ProcessCpu(Map<String, Long> pids) {
    var all = new LinkedHashMap<>(pids);
    all.putIfAbsent("bench", ProcessHandle.current().pid());
    this.pids = all;
  }

  /**
   * Parses {@code gateway=123,worker=456}; an error names what is wrong with which entry.
   *
   * @throws IllegalArgumentException if an entry is not {@code name=pid} or names no running
   *     process
   */
  static Map<String, Long> parse(String spec) {
    var pids = new LinkedHashMap<String, Long>();
    if (spec == null || spec.isBlank()) {
      return pids;
    }
    for (String entry : spec.split(",")) {
      String[] parts = entry.trim().split("=", 2);
      long pid;
      try {
        pid = parts.length == 2 && !parts[0].isBlank() ? Long.parseLong(parts[1].trim()) : -1;
      } catch (NumberFormatException e) {
        pid = -1;
      }
      if (pid <= 0) {
        throw new IllegalArgumentException(
            "--pids entry '" + entry + "' is not name=pid (e.g. gateway=1234)");
      }
      if (!Files.exists(Path.of("/proc", Long.toString(pid), "stat"))) {
        throw new IllegalArgumentException(
            "--pids entry '" + entry + "': no process " + pid + " is running here");
      }
      pids.put(parts[0].trim(), pid);
    }
    return pids;
  }

  /**
   * CPU seconds used so far by each named process, and of those, by its JIT compiler threads (0 for
   * a process that is not a HotSpot JVM).
   */
  record Sample(Map<String, Double> seconds, Map<String, Double> jitSeconds) {}

  /**
   * CPU milliseconds each process used between two samples per 1,000 of {@code count} things (=
   * microseconds per thing), in the order given.
   */
  static Map<String, Double> millisPerThousand(Sample before, Sample after, long count) {
    var per = new LinkedHashMap<String, Double>();
    after
        .seconds()
        .forEach(
            (name, secs) ->
                per.put(
                    name,
                    BenchResult.round(
                        (secs - before.seconds().getOrDefault(name, 0.0))
                            * 1e6
                            / Math.max(1, count))));
    return per;
  }

  /** CPU seconds used so far by each named process, in the order given. */
  Sample sample() {
    var seconds = new LinkedHashMap<String, Double>();
    var jit = new LinkedHashMap<String, Double>();
    pids.forEach(
        (name, pid) -> {
          seconds.put(name, ticks(pid) / TICKS_PER_SEC);
          jit.put(name, compilerTicks(pid) / TICKS_PER_SEC);
        });
    return new Sample(seconds, jit);
  }

  /**
   * Ticks of a JVM's JIT compiler threads, which HotSpot names {@code C1 CompilerThreadN} and
   * {@code C2 CompilerThreadN} (Linux keeps 15 characters of a thread's name). A JVM that is still
   * warming up spends a large share of its CPU here: on two busy cores, about half for minutes.
   */
  private static long compilerTicks(long pid) {
    long total = 0;
    try (var tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
      for (Path task : (Iterable<Path>) tasks::iterator) {
        String stat;
        try {
          stat = Files.readString(task.resolve("stat"));
        } catch (IOException e) {
          continue; // the thread ended meanwhile
        }
        String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        if (name.startsWith("C1 CompilerThre") || name.startsWith("C2 CompilerThre")) {
          long[] times = parseTimes(stat);
          total += times[0] + times[1];
        }
      }
    } catch (IOException e) {
      return 0;
    }
    return total;
  }

  /**
   * Own and reaped children's ticks of {@code root}, plus the own ticks of its live descendants.
   */
  private static long ticks(long root) {
    long total = 0;
    var todo = new ArrayDeque<Long>(List.of(root));
    while (!todo.isEmpty()) {
      long pid = todo.poll();
      long[] times = times(pid);
      if (times == null) {
        continue;
      }
      total += times[0] + times[1] + (pid == root ? times[2] + times[3] : 0);
      todo.addAll(children(pid));
    }
    return total;
  }

  /** utime, stime, cutime, cstime of a process, or null if it has gone. */
  private static long[] times(long pid) {
    String stat;
    try {
      stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
    } catch (IOException e) {
      return null;
    }
    return parseTimes(stat);
  }

  /** utime, stime, cutime, cstime from the text of a {@code /proc/.../stat} file. */
  private static long[] parseTimes(String stat) {
    // The command name may hold spaces and parentheses: fields are counted after the last ')'.
    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    // fields[0] is the state (field 3 of proc(5)); utime is field 14, so fields[11].
    return new long[] {
      Long.parseLong(fields[11]),
      Long.parseLong(fields[12]),
      Long.parseLong(fields[13]),
      Long.parseLong(fields[14])
    };
  }

  private static List<Long> children(long pid) {
    try (var tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
      return tasks
          .flatMap(
              task -> {
                try {
                  String text = Files.readString(task.resolve("children")).trim();
                  return text.isEmpty()
                      ? java.util.stream.Stream.<Long>empty()
                      : java.util.Arrays.stream(text.split(" ")).map(Long::parseLong);
                } catch (IOException e) {
                  return java.util.stream.Stream.<Long>empty();
                }
              })
          .toList();
    } catch (IOException e) {
      return List.of();
    }
  }
}
