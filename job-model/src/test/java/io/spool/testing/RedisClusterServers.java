package io.spool.testing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A Redis Cluster of a test's own: three masters and a replica for each, redis-server processes on
 * free ports joined with {@code redis-cli --cluster create}, empty (nothing is saved). A test may
 * crash a master, wait for its replica to take over and bring the crashed one back as a replica.
 *
 * <p>Nodes are told a short {@link #NODE_TIMEOUT} so that a failover takes seconds, and replicas
 * take over however stale their data ({@code cluster-replica-validity-factor 0}): a test's crash
 * must always fail over, as a real cluster's usually does.
 */
public final class RedisClusterServers implements AutoCloseable {
  /**
   * How long a node may go unanswered before the others count it failed ({@code
   * cluster-node-timeout}); a failover takes about twice this.
   */
  public static final Duration NODE_TIMEOUT = Duration.ofSeconds(1);

  /** Redis Cluster's hash slots, all of which must be served for the cluster to be ok. */
  public static final int SLOTS = 16384;

  private static final int MASTERS = 3;
  private static final int NODES = MASTERS * 2;
  private static final Duration SETTLE_TIMEOUT = Duration.ofSeconds(30);
  private static final Pattern COMMAND_STAT = Pattern.compile("^cmdstat_(\\S+):calls=(\\d+)");

  /**
   * One node of the cluster.
   *
   * @param port its client port on 127.0.0.1 (its cluster bus has another free port).
   * @param id its cluster node id, 40 hex digits, which it keeps across a restart.
   */
  public record Node(int port, String id) {
    public String address() {
      return "127.0.0.1:" + port;
    }
  }

  /** One line of {@code CLUSTER NODES}: a node as the node asked sees it. */
  private record View(
      String id, int port, Set<String> flags, String masterId, List<int[]> slotRanges) {
    boolean failed() {
      return flags.contains("fail") || flags.contains("fail?");
    }

    boolean servesSlots() {
      return flags.contains("master") && !failed() && !slotRanges.isEmpty();
    }

    boolean owns(int slot) {
      return slotRanges.stream().anyMatch(r -> r[0] <= slot && slot <= r[1]);
    }

    Node node() {
      return new Node(port, id);
    }
  }

  private final RedisProcesses processes = new RedisProcesses("spool-redis-cluster");
  private final String password;

  /**
   * Node id of each master killed here → ids of its replicas then, the candidates to succeed it.
   */
  private final Map<String, List<String>> replicasWhenKilled = new ConcurrentHashMap<>();

  private RedisClusterServers(String password) {
    this.password = password;
  }

  public static RedisClusterServers start() {
    return start(null);
  }

  /**
   * Starts six nodes, joins them and waits until every node says the cluster is ok, all {@link
   * #SLOTS} slots are served and every replica is in sync.
   *
   * @param password every node's {@code requirepass} (and {@code masterauth}); null for none.
   */
  public static RedisClusterServers start(String password) {
    var cluster = new RedisClusterServers(password);
    try {
      for (int i = 0; i < NODES; i++) {
        cluster.processes.start(2, ports -> cluster.nodeCommand(ports[0], ports[1]));
      }
      cluster.create();
      cluster.awaitSettled("the new cluster is ok on every node", SETTLE_TIMEOUT);
      return cluster;
    } catch (RuntimeException | Error e) {
      cluster.close();
      throw e;
    }
  }

  /** Every node, comma-separated, as {@code SPOOL_REDIS_URL} takes a cluster's seed nodes. */
  public String url() {
    return processes.ports().stream()
        .map(port -> RedisProcesses.url("redis", password, port))
        .collect(Collectors.joining(","));
  }

  /** Null when the nodes ask for none. */
  public String password() {
    return password;
  }

  /** The masters serving slots now, as a running node sees it, by port. */
  public List<Node> masters() {
    return anyView().stream()
        .filter(View::servesSlots)
        .map(View::node)
        .sorted(Comparator.comparingInt(Node::port))
        .toList();
  }

  /** The replicas that are up, as a running node sees it, by port. */
  public List<Node> replicas() {
    return anyView().stream()
        .filter(v -> v.flags().contains("slave") && !v.failed())
        .map(View::node)
        .sorted(Comparator.comparingInt(Node::port))
        .toList();
  }

  /** The hash slot of a key, as the cluster computes it (the hash tag's, if it has one). */
  public int slotOf(String key) {
    return ((Long) someNode().call("CLUSTER", "KEYSLOT", key)).intValue();
  }

  /** The master that serves this key's slot now. */
  public Node masterOf(String key) {
    int slot = slotOf(key);
    return anyView().stream()
        .filter(v -> v.servesSlots() && v.owns(slot))
        .map(View::node)
        .findFirst()
        .orElseThrow(() -> new IllegalStateException("no master serves slot " + slot));
  }

  /**
   * How many keys match a {@code SCAN MATCH} pattern on each master (by port), counting the masters
   * that have none.
   */
  public Map<Integer, Long> keysPerMaster(String pattern) {
    var counts = new TreeMap<Integer, Long>();
    for (Node master : masters()) {
      RespClient node = client(master);
      long count = 0;
      String cursor = "0";
      do {
        var page = (List<?>) node.call("SCAN", cursor, "MATCH", pattern, "COUNT", "1000");
        cursor = (String) page.get(0);
        count += ((List<?>) page.get(1)).size();
      } while (!cursor.equals("0"));
      counts.put(master.port(), count);
    }
    return counts;
  }

  /** Kills a master at once (SIGKILL), as a crash would; see {@link #awaitFailover}. */
  public Node killMaster(Node master) {
    List<View> view = anyView();
    if (view.stream().noneMatch(v -> v.id().equals(master.id()) && v.servesSlots())) {
      throw new IllegalArgumentException(master + " is not a master serving slots now");
    }
    replicasWhenKilled.put(
        master.id(),
        view.stream().filter(v -> master.id().equals(v.masterId())).map(View::id).toList());
    processes.kill(master.port());
    return master;
  }

  /** Kills the master serving this key (see {@link #killMaster(Node)}) and answers it. */
  public Node killMasterOf(String key) {
    return killMaster(masterOf(key));
  }

  /**
   * Waits until every running node sees the killed master failed, one of its replicas serving its
   * slots, and the cluster ok again; answers that replica.
   */
  public Node awaitFailover(Node killed, Duration timeout) {
    List<String> candidates = replicasWhenKilled.get(killed.id());
    if (candidates == null) {
      throw new IllegalArgumentException(killed + " was not killed by killMaster");
    }
    Node[] promoted = new Node[1];
    RedisProcesses.await(
        "a replica of " + killed.address() + " took over its slots",
        timeout,
        () -> {
          Node seen = null;
          for (int port : runningPorts()) {
            RespClient node = client(port);
            String state = RespClient.field(node.text("CLUSTER", "INFO"), "cluster_state");
            if (!"ok".equals(state)) {
              return "127.0.0.1:" + port + " says cluster_state:" + state;
            }
            List<View> view = view(node);
            if (view.stream().noneMatch(v -> v.id().equals(killed.id()) && v.failed())) {
              return "127.0.0.1:" + port + " does not count " + killed.address() + " failed yet";
            }
            var successor =
                view.stream()
                    .filter(v -> candidates.contains(v.id()) && v.servesSlots())
                    .findFirst();
            if (successor.isEmpty()) {
              return "127.0.0.1:" + port + " sees no replica of " + killed.address() + " promoted";
            }
            if (seen != null && !seen.equals(successor.get().node())) {
              return "nodes disagree on who took over: " + seen + ", " + successor.get().node();
            }
            seen = successor.get().node();
          }
          promoted[0] = seen;
          return null;
        });
    return promoted[0];
  }

  /**
   * Starts a killed node again on its port, empty but with its cluster config, and waits until it
   * has rejoined as a replica in sync and every node sees it up.
   */
  public void restart(Node node) {
    processes.restart(node.port());
    awaitSettled(node.address() + " rejoined", SETTLE_TIMEOUT);
  }

  /** Per master (by port): calls of each command since its start or {@link #resetCommandStats}. */
  public Map<Integer, Map<String, Long>> commandStats() {
    var stats = new TreeMap<Integer, Map<String, Long>>();
    for (Node master : masters()) {
      var calls = new TreeMap<String, Long>();
      for (String line : client(master).text("INFO", "commandstats").split("\r?\n", -1)) {
        Matcher m = COMMAND_STAT.matcher(line);
        if (m.find()) {
          calls.put(m.group(1), Long.parseLong(m.group(2)));
        }
      }
      stats.put(master.port(), calls);
    }
    return stats;
  }

  /** Zeroes every running node's statistics ({@code CONFIG RESETSTAT}), e.g. before a bench. */
  public void resetCommandStats() {
    runningPorts().forEach(port -> client(port).call("CONFIG", "RESETSTAT"));
  }

  /** A client for one node, with the cluster's password. */
  public RespClient client(Node node) {
    return client(node.port());
  }

  /**
   * Runs {@code redis-cli -c} (following the cluster's redirects) against a running node and
   * answers what it printed, such as {@code OK} for {@code redisCli("SET", "{a}k", "v")}.
   */
  public String redisCli(String... args) {
    var command = new ArrayList<>(List.of("redis-cli", "-c", "-p", String.valueOf(someRunning())));
    if (password != null) {
      command.addAll(List.of("-a", password, "--no-auth-warning"));
    }
    command.addAll(Arrays.asList(args));
    return RedisProcesses.run(command, Duration.ofSeconds(10)).strip();
  }

  /** Kills every node and deletes their files. */
  @Override
  public void close() {
    processes.close();
  }

  private List<String> nodeCommand(int port, int busPort) {
    String dir = processes.dir().toString();
    var command =
        new ArrayList<>(
            List.of(
                "redis-server",
                "--port",
                String.valueOf(port),
                // Its own bus port: port + 10000, the default, is past 65535 for high free ports.
                "--cluster-port",
                String.valueOf(busPort),
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                dir + "/nodes-" + port + ".conf",
                "--cluster-node-timeout",
                String.valueOf(NODE_TIMEOUT.toMillis()),
                "--cluster-replica-validity-factor",
                "0",
                // Replicas sync at once rather than after the default 5 s of waiting for others.
                "--repl-diskless-sync-delay",
                "0",
                "--save",
                "",
                "--appendonly",
                "no",
                "--bind",
                "127.0.0.1",
                "--dir",
                dir));
    if (password != null) {
      command.addAll(List.of("--requirepass", password, "--masterauth", password));
    }
    return command;
  }

  private void create() {
    var command = new ArrayList<>(List.of("redis-cli"));
    if (password != null) {
      command.addAll(List.of("-a", password, "--no-auth-warning"));
    }
    command.addAll(List.of("--cluster", "create"));
    processes.ports().forEach(port -> command.add("127.0.0.1:" + port));
    command.addAll(List.of("--cluster-replicas", "1", "--cluster-yes"));
    RedisProcesses.run(command, Duration.ofSeconds(60));
  }

  /**
   * Until every running node sees the cluster ok with all slots served by {@value #MASTERS}
   * masters, every node up, and is itself, if a replica, in sync with its master.
   */
  private void awaitSettled(String what, Duration timeout) {
    RedisProcesses.await(
        what,
        timeout,
        () -> {
          for (int port : runningPorts()) {
            RespClient node = client(port);
            String info = node.text("CLUSTER", "INFO");
            if (!"ok".equals(RespClient.field(info, "cluster_state"))
                || !String.valueOf(SLOTS).equals(RespClient.field(info, "cluster_slots_ok"))) {
              return "127.0.0.1:" + port + " says\n" + info;
            }
            List<View> view = view(node);
            long up =
                view.stream().filter(v -> !v.failed() && !v.flags().contains("handshake")).count();
            if (view.size() < NODES || up < runningPorts().size()) {
              return "127.0.0.1:" + port + " knows of " + view.size() + " nodes, " + up + " up";
            }
            if (view.stream().filter(View::servesSlots).count() != MASTERS) {
              return "127.0.0.1:" + port + " sees masters " + masters();
            }
            if ("slave".equals(node.info("replication", "role"))
                && !"up".equals(node.info("replication", "master_link_status"))) {
              return "replica 127.0.0.1:" + port + " is not in sync with its master yet";
            }
          }
          return null;
        });
  }

  private List<View> anyView() {
    return view(someNode());
  }

  private static List<View> view(RespClient node) {
    var views = new ArrayList<View>();
    for (String line : node.text("CLUSTER", "NODES").split("\r?\n", -1)) {
      if (line.isBlank()) {
        continue;
      }
      String[] f = line.trim().split(" ", -1);
      // <id> <ip:port@cport[,hostname]> <flags> <master> <ping> <pong> <epoch> <link> <slot>...
      String address = f[1];
      int port =
          Integer.parseInt(address.substring(address.lastIndexOf(':') + 1, address.indexOf('@')));
      var ranges = new ArrayList<int[]>();
      for (int i = 8; i < f.length; i++) {
        if (f[i].startsWith("[")) {
          continue; // a slot being migrated or imported
        }
        String[] range = f[i].split("-", -1);
        int from = Integer.parseInt(range[0]);
        ranges.add(new int[] {from, range.length > 1 ? Integer.parseInt(range[1]) : from});
      }
      views.add(
          new View(
              f[0], port, Set.of(f[2].split(",", -1)), f[3].equals("-") ? null : f[3], ranges));
    }
    return views;
  }

  private RespClient someNode() {
    return client(someRunning());
  }

  private int someRunning() {
    return runningPorts().stream()
        .findFirst()
        .orElseThrow(() -> new IllegalStateException("no node of the cluster is running"));
  }

  private List<Integer> runningPorts() {
    return processes.ports().stream().filter(processes::isRunning).toList();
  }

  private RespClient client(int port) {
    return new RespClient(port, password);
  }
}
