package io.spool.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A Redis under Sentinel of a test's own: a master, one replica of it and three sentinels watching
 * them (quorum 2), all redis-server processes on free ports, empty (nothing is saved). A test may
 * crash the master and wait until the sentinels have promoted the replica.
 *
 * <p>The sentinels count a master down after {@link #DOWN_AFTER} without an answer, so a failover
 * takes a few seconds.
 */
public final class RedisSentinelServers implements AutoCloseable {
  /** The name the sentinels know the master by ({@code SPOOL_REDIS_MASTER}). */
  public static final String MASTER_NAME = "spool-master";

  /** {@code down-after-milliseconds}: silence after which a sentinel counts the master down. */
  public static final Duration DOWN_AFTER = Duration.ofSeconds(1);

  /** {@code failover-timeout}: how long one failover may take before a sentinel tries again. */
  public static final Duration FAILOVER_TIMEOUT = Duration.ofSeconds(3);

  private static final int SENTINELS = 3;
  private static final Duration SETTLE_TIMEOUT = Duration.ofSeconds(30);

  private final RedisProcesses processes = new RedisProcesses("spool-redis-sentinel");
  private final String password;
  private final List<Integer> dataPorts = new ArrayList<>();
  private final List<Integer> sentinelPorts = new ArrayList<>();

  /**
   * The master killed by {@link #killMaster}, which {@link #awaitFailover} waits to see replaced.
   */
  private volatile int killedPort;

  private RedisSentinelServers(String password) {
    this.password = password;
  }

  public static RedisSentinelServers start() {
    return start(null);
  }

  /**
   * Starts the master, its replica and the sentinels, and waits until the replica is in sync and
   * every sentinel knows the master, the replica and the two other sentinels.
   *
   * @param password the {@code requirepass} of every node and sentinel; null for none.
   */
  public static RedisSentinelServers start(String password) {
    var servers = new RedisSentinelServers(password);
    try {
      servers.startNodes();
      return servers;
    } catch (RuntimeException | Error e) {
      servers.close();
      throw e;
    }
  }

  /** The sentinels, comma-separated, as {@code SPOOL_REDIS_URL} takes them in sentinel mode. */
  public String url() {
    return sentinelPorts.stream()
        .map(port -> RedisProcesses.url("redis", password, port))
        .collect(Collectors.joining(","));
  }

  public String masterName() {
    return MASTER_NAME;
  }

  /** Null when the nodes and sentinels ask for none. */
  public String password() {
    return password;
  }

  /** The master's and the replica's ports, in start order (whichever is master now). */
  public List<Integer> nodePorts() {
    return List.copyOf(dataPorts);
  }

  public List<Integer> sentinelPorts() {
    return List.copyOf(sentinelPorts);
  }

  /** The master's port as the first running sentinel names it now. */
  public int masterPort() {
    for (int port : sentinelPorts) {
      if (processes.isRunning(port)) {
        return masterPortSeenBy(port);
      }
    }
    throw new IllegalStateException("no sentinel is running");
  }

  /** A client for one node or sentinel, with the password. */
  public RespClient client(int port) {
    return new RespClient(port, password);
  }

  /** Kills the current master at once (SIGKILL), as a crash would; answers its port. */
  public int killMaster() {
    int port = masterPort();
    processes.kill(port);
    killedPort = port;
    return port;
  }

  /**
   * Waits until every sentinel names another node as the master than the one {@link #killMaster}
   * killed, and that node says it is a master ({@code ROLE}); answers its port.
   */
  public int awaitFailover(Duration timeout) {
    int killed = killedPort;
    if (killed == 0) {
      throw new IllegalStateException("no master was killed by killMaster");
    }
    int[] promoted = new int[1];
    RedisProcesses.await(
        "the sentinels promoted a replica in place of 127.0.0.1:" + killed,
        timeout,
        () -> {
          int named = 0;
          for (int sentinel : sentinelPorts) {
            int port = masterPortSeenBy(sentinel);
            if (port == killed) {
              return "sentinel " + sentinel + " still names 127.0.0.1:" + killed;
            }
            if (named != 0 && named != port) {
              return "sentinels disagree: " + named + ", " + port;
            }
            named = port;
          }
          Object role = ((List<?>) client(named).call("ROLE")).get(0);
          if (!"master".equals(role)) {
            return "127.0.0.1:" + named + " is named master but says it is a " + role;
          }
          promoted[0] = named;
          return null;
        });
    return promoted[0];
  }

  /**
   * Starts a killed node again on its port, empty, as a replica of the current master (as an
   * orchestrator brings a node back), and waits until it is in sync. Started as a master, it would
   * wait about 10 s for the sentinels to turn it into a replica.
   */
  public void restart(int port) {
    processes.restart(port, nodeCommand(port, masterPort()));
    RedisProcesses.await(
        "127.0.0.1:" + port + " is a replica in sync again",
        SETTLE_TIMEOUT,
        () ->
            "up".equals(client(port).info("replication", "master_link_status"))
                ? null
                : "127.0.0.1:" + port + " is not a replica in sync yet");
  }

  /** Kills every node and sentinel and deletes their files. */
  @Override
  public void close() {
    processes.close();
  }

  private void startNodes() {
    int master = processes.start(1, ports -> nodeCommand(ports[0], 0))[0];
    int replica = processes.start(1, ports -> nodeCommand(ports[0], master))[0];
    dataPorts.addAll(List.of(master, replica));
    RedisProcesses.await(
        "the replica is in sync",
        SETTLE_TIMEOUT,
        () ->
            "up".equals(client(replica).info("replication", "master_link_status"))
                ? null
                : "replica 127.0.0.1:" + replica + " is not in sync yet");
    for (int i = 0; i < SENTINELS; i++) {
      sentinelPorts.add(processes.start(1, ports -> sentinelCommand(ports[0], master))[0]);
    }
    RedisProcesses.await(
        "every sentinel knows the master, its replica and the other sentinels",
        SETTLE_TIMEOUT,
        () -> {
          for (int sentinel : sentinelPorts) {
            var state = fields(client(sentinel).call("SENTINEL", "MASTER", MASTER_NAME));
            if (!"master".equals(state.get("flags"))
                || !"1".equals(state.get("num-slaves"))
                || !String.valueOf(SENTINELS - 1).equals(state.get("num-other-sentinels"))) {
              return "sentinel " + sentinel + " sees " + state;
            }
          }
          return null;
        });
  }

  private int masterPortSeenBy(int sentinel) {
    var address =
        (List<?>) client(sentinel).call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME);
    return Integer.parseInt((String) address.get(1));
  }

  /** A data node; a replica of {@code masterPort} unless it is 0. */
  private List<String> nodeCommand(int port, int masterPort) {
    var command =
        new ArrayList<>(
            List.of(
                "redis-server",
                "--port",
                String.valueOf(port),
                "--bind",
                "127.0.0.1",
                // Replicas sync at once rather than after the default 5 s of waiting for others.
                "--repl-diskless-sync-delay",
                "0",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                processes.dir().toString()));
    if (masterPort != 0) {
      command.addAll(List.of("--replicaof", "127.0.0.1", String.valueOf(masterPort)));
    }
    if (password != null) {
      command.addAll(List.of("--requirepass", password, "--masterauth", password));
    }
    return command;
  }

  /** A sentinel: its config is a file, which it rewrites as it learns the topology. */
  private List<String> sentinelCommand(int port, int masterPort) {
    var config = new StringBuilder();
    config.append("port ").append(port).append('\n');
    config.append("bind 127.0.0.1\n");
    config.append("dir ").append(processes.dir()).append('\n');
    config.append("sentinel resolve-hostnames no\n");
    config.append("sentinel monitor ").append(MASTER_NAME).append(" 127.0.0.1 ");
    config.append(masterPort).append(" 2\n");
    config.append("sentinel down-after-milliseconds ").append(MASTER_NAME).append(' ');
    config.append(DOWN_AFTER.toMillis()).append('\n');
    config.append("sentinel failover-timeout ").append(MASTER_NAME).append(' ');
    config.append(FAILOVER_TIMEOUT.toMillis()).append('\n');
    config.append("sentinel parallel-syncs ").append(MASTER_NAME).append(" 1\n");
    if (password != null) {
      // Clients and the other sentinels authenticate to it; it authenticates to the nodes.
      config.append("requirepass ").append(quoted(password)).append('\n');
      config.append("sentinel sentinel-pass ").append(quoted(password)).append('\n');
      config.append("sentinel auth-pass ").append(MASTER_NAME).append(' ');
      config.append(quoted(password)).append('\n');
    }
    Path file = processes.dir().resolve("sentinel-" + port + ".conf");
    try {
      Files.writeString(file, config);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return List.of("redis-server", file.toString(), "--sentinel");
  }

  private static String quoted(String value) {
    return "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  /** A sentinel's flat {@code [name, value, name, value, ...]} answer as a map. */
  private static Map<String, String> fields(Object reply) {
    var list = (List<?>) reply;
    var fields = new HashMap<String, String>();
    for (int i = 0; i + 1 < list.size(); i += 2) {
      fields.put(String.valueOf(list.get(i)), String.valueOf(list.get(i + 1)));
    }
    return fields;
  }
}
