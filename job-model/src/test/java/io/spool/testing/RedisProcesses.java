package io.spool.testing;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The redis-server processes (nodes and sentinels) of one topology fixture, in one temp dir of its
 * own: started on free ports, killed one by one as a crash would, started again on the same port,
 * and all killed by {@link #close} or, if a test never gets there, when the JVM exits.
 */
final class RedisProcesses implements AutoCloseable {
  private static final int PORT_ATTEMPTS = 5;
  private static final long START_TIMEOUT_MILLIS = 10_000;

  /** What a server, and a sentinel, log once they listen. */
  private static final Pattern READY =
      Pattern.compile("Ready to accept connections|Sentinel ID is");

  private final Path dir;
  private final Map<Integer, List<String>> commands =
      Collections.synchronizedMap(new LinkedHashMap<>());
  private final Map<Integer, Process> running = new ConcurrentHashMap<>();
  private final Thread killOnExit = new Thread(this::killAll, "redis-fixture-kill-on-exit");
  private boolean closed;

  RedisProcesses(String dirPrefix) {
    try {
      dir = Files.createTempDirectory(dirPrefix);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    // A test that dies before close() (or a JVM stopped by Surefire) must not leave servers behind.
    Runtime.getRuntime().addShutdownHook(killOnExit);
  }

  Path dir() {
    return dir;
  }

  /**
   * Starts a process whose command takes {@code portCount} free ports (the first one is where it
   * listens), waits until it accepts connections and answers its ports. A port taken by someone
   * else between the probe and the start (the usual race of probing for free ports) is retried with
   * new ones.
   */
  int[] start(int portCount, Function<int[], List<String>> command) {
    String lastLog = "";
    for (int attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
      int[] ports = freePorts(portCount);
      List<String> args = command.apply(ports);
      commands.put(ports[0], args);
      if (launch(ports[0])) {
        return ports;
      }
      lastLog = log(ports[0]);
      commands.remove(ports[0]);
      if (!lastLog.contains("Address already in use")) {
        break;
      }
    }
    throw new IllegalStateException(
        "redis-server did not start (log below; in " + dir + ")\n" + lastLog);
  }

  /** Starts the process that listened on this port again, with the same command. */
  void restart(int port) {
    restart(port, commands.get(port));
  }

  /** Starts a process on a port this fixture used before, with another command for that port. */
  void restart(int port, List<String> command) {
    if (!commands.containsKey(port)) {
      throw new IllegalArgumentException("port " + port + " is not one of this fixture's");
    }
    commands.put(port, command);
    if (running.containsKey(port)) {
      throw new IllegalStateException("127.0.0.1:" + port + " is still running");
    }
    if (!launch(port)) {
      throw new IllegalStateException(
          "redis-server on port " + port + " did not start again (log below)\n" + log(port));
    }
  }

  /** Kills it at once (SIGKILL), as a crash or a lost machine would. */
  void kill(int port) {
    Process process = running.remove(port);
    if (process == null) {
      throw new IllegalStateException("nothing of this fixture runs on port " + port);
    }
    stop(process);
  }

  boolean isRunning(int port) {
    Process process = running.get(port);
    return process != null && process.isAlive();
  }

  /** Every port a process of this fixture listens on or listened on, in start order. */
  List<Integer> ports() {
    synchronized (commands) {
      return new ArrayList<>(commands.keySet());
    }
  }

  /** What it wrote to its log so far, for failure messages. */
  String log(int port) {
    try {
      Path log = logFile(port);
      return Files.exists(log) ? Files.readString(log) : "";
    } catch (IOException e) {
      return "(could not read its log: " + e.getMessage() + ")";
    }
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    killAll();
    try {
      Runtime.getRuntime().removeShutdownHook(killOnExit);
    } catch (IllegalStateException e) {
      // The JVM is exiting: the hook runs anyway.
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // Left in the temp dir; nothing runs from it any more.
    }
  }

  private boolean launch(int port) {
    Path log = logFile(port);
    long logStart = log.toFile().length(); // a restart appends: read only what this run writes
    Process process;
    try {
      process =
          new ProcessBuilder(commands.get(port))
              .directory(dir.toFile())
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
              .start();
    } catch (IOException e) {
      throw new IllegalStateException(
          "could not run redis-server (apt-get install redis-server): " + e.getMessage(), e);
    }
    running.put(port, process);
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(START_TIMEOUT_MILLIS);
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        running.remove(port);
        return false;
      }
      // Its own log saying it listens, not just a connection: another process may hold the port.
      if (READY.matcher(logSince(log, logStart)).find() && accepts(port)) {
        return true;
      }
      pause(20);
    }
    running.remove(port);
    stop(process);
    return false;
  }

  private static String logSince(Path log, long offset) {
    try (var file = new RandomAccessFile(log.toFile(), "r")) {
      if (file.length() <= offset) {
        return "";
      }
      file.seek(offset);
      byte[] bytes = new byte[(int) (file.length() - offset)];
      file.readFully(bytes);
      return new String(bytes, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  private static boolean accepts(int port) {
    try (var socket = new Socket()) {
      socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private Path logFile(int port) {
    return dir.resolve("redis-" + port + ".log");
  }

  private void killAll() {
    running.values().forEach(RedisProcesses::stop);
    running.clear();
  }

  private static void stop(Process process) {
    process.destroyForcibly();
    try {
      process.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Free ports, all distinct: the sockets are held open together until each has its own. */
  private static int[] freePorts(int count) {
    var sockets = new ArrayList<ServerSocket>();
    try {
      for (int i = 0; i < count; i++) {
        var socket = new ServerSocket();
        sockets.add(socket);
        socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      }
      return sockets.stream().mapToInt(ServerSocket::getLocalPort).toArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      for (var socket : sockets) {
        try {
          socket.close();
        } catch (IOException ignored) {
          // only a probe
        }
      }
    }
  }

  /**
   * Runs a command such as redis-cli to its end and answers what it printed; a non-zero exit or a
   * timeout throws with that output.
   */
  static String run(List<String> command, Duration timeout) {
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      // Read while it runs: a full pipe would block it.
      var output = new CompletableFuture<String>();
      Thread.ofVirtual()
          .start(
              () -> {
                try {
                  output.complete(
                      new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
                } catch (IOException e) {
                  output.complete("(could not read its output: " + e.getMessage() + ")");
                }
              });
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        throw new IllegalStateException(
            String.join(" ", command) + " did not end within " + timeout.toSeconds() + " s");
      }
      String printed = output.get(5, TimeUnit.SECONDS);
      if (process.exitValue() != 0) {
        throw new IllegalStateException(
            String.join(" ", command) + " exited with " + process.exitValue() + ":\n" + printed);
      }
      return printed;
    } catch (IOException e) {
      throw new IllegalStateException(
          "could not run " + command.get(0) + " (apt-get install redis-tools): " + e.getMessage(),
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted running " + command.get(0), e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("could not read what " + command.get(0) + " printed", e);
    }
  }

  /**
   * Polls until {@code problem} answers null; on a timeout throws with the last problem it named. A
   * node that does not answer is a problem like any other: it may be starting.
   */
  static void await(String what, Duration timeout, Supplier<String> problem) {
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "nothing checked yet";
    while (System.nanoTime() < deadline) {
      try {
        last = problem.get();
        if (last == null) {
          return;
        }
      } catch (RuntimeException e) {
        last = e.getMessage();
      }
      RedisProcesses.pause(50);
    }
    throw new IllegalStateException(
        "timed out after " + timeout.toSeconds() + " s waiting until " + what + ": " + last);
  }

  /** {@code redis://[default:password@]127.0.0.1:port}, the password percent-encoded. */
  static String url(String scheme, String password, int port) {
    var url = new StringBuilder(scheme).append("://");
    if (password != null) {
      url.append("default:");
      for (byte b : password.getBytes(StandardCharsets.UTF_8)) {
        char c = (char) (b & 0xff);
        if ((Character.isLetterOrDigit(c) && c < 128) || "-._~".indexOf(c) >= 0) {
          url.append(c);
        } else {
          url.append('%').append(String.format("%02X", b & 0xff));
        }
      }
      url.append('@');
    }
    return url.append("127.0.0.1:").append(port).toString();
  }

  static void pause(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
