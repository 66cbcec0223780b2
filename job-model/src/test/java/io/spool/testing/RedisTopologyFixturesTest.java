package io.spool.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The Redis Cluster and Sentinel fixtures start what they say, fail over, and leave nothing. */
class RedisTopologyFixturesTest {
  private static final Duration FAILOVER_TIMEOUT = Duration.ofSeconds(20);

  @Test
  void keysWithDistinctHashTagsLandOnEveryMaster() {
    List<Integer> ports;
    try (var cluster = RedisClusterServers.start()) {
      ports = ports(cluster.url());
      assertEquals(6, ports.size());
      assertEquals(3, cluster.masters().size());
      assertEquals(3, cluster.replicas().size());

      for (int i = 0; i < 12; i++) {
        assertEquals("OK", cluster.redisCli("SET", "{shard-" + i + "}:k", "v" + i));
      }

      Map<Integer, Long> counts = cluster.keysPerMaster("{shard-*}:k");
      assertEquals(
          cluster.masters().stream().map(RedisClusterServers.Node::port).toList(),
          List.copyOf(counts.keySet()));
      assertTrue(counts.values().stream().allMatch(n -> n > 0), "keys per master: " + counts);
      assertEquals(12, counts.values().stream().mapToLong(Long::longValue).sum());
      for (int i = 0; i < 12; i++) {
        String key = "{shard-" + i + "}:k";
        // Asked without redirects: the master named for the key holds it.
        assertEquals("v" + i, cluster.client(cluster.masterOf(key)).text("GET", key));
      }
      var stats = cluster.commandStats();
      assertEquals(12, stats.values().stream().mapToLong(s -> s.getOrDefault("set", 0L)).sum());
    }
    assertNothingListensOn(ports);
  }

  @Test
  void aKilledMasterIsReplacedByItsReplicaAndComesBackAsAReplica() {
    List<Integer> ports;
    try (var cluster = RedisClusterServers.start()) {
      ports = ports(cluster.url());
      String key = "{failover}:k";
      cluster.redisCli("SET", key, "kept");
      var master = cluster.masterOf(key);
      assertEquals(1L, cluster.client(master).call("WAIT", "1", "5000"), "replicated before");

      var killed = cluster.killMasterOf(key);
      assertEquals(master, killed);
      var promoted = cluster.awaitFailover(killed, FAILOVER_TIMEOUT);

      assertNotEquals(killed, promoted);
      assertEquals(promoted, cluster.masterOf(key));
      assertEquals(3, cluster.masters().size());
      assertEquals("kept", cluster.redisCli("GET", key));

      cluster.restart(killed);
      assertTrue(
          cluster.replicas().stream().anyMatch(n -> n.port() == killed.port()),
          "back as a replica: " + cluster.replicas());
      assertEquals(promoted, cluster.masterOf(key));
    }
    assertNothingListensOn(ports);
  }

  @Test
  void aClusterWithAPasswordAnswersOnlyClientsThatGiveIt() {
    List<Integer> ports;
    try (var cluster = RedisClusterServers.start("s3cret pass")) {
      ports = ports(cluster.url());
      assertTrue(cluster.url().startsWith("redis://default:s3cret%20pass@127.0.0.1:"));
      var master = cluster.masters().get(0);

      var refused =
          assertThrows(
              RespClient.ErrorReply.class, () -> RespClient.to(master.port()).call("GET", "k"));
      assertTrue(refused.getMessage().contains("NOAUTH"), refused.getMessage());
      assertEquals("OK", cluster.redisCli("SET", "{pw}:k", "v"));
      assertEquals("v", cluster.redisCli("GET", "{pw}:k"));
    }
    assertNothingListensOn(ports);
  }

  @Test
  void sentinelsPromoteTheReplicaWhenTheMasterDies() {
    List<Integer> ports = new ArrayList<>();
    try (var sentinel = RedisSentinelServers.start("sentinel-secret")) {
      ports.addAll(sentinel.nodePorts());
      ports.addAll(sentinel.sentinelPorts());
      assertEquals(3, ports(sentinel.url()).size());
      int master = sentinel.masterPort();
      int replica = sentinel.nodePorts().get(1);
      assertEquals(sentinel.nodePorts().get(0), master);
      assertEquals("OK", sentinel.client(master).call("SET", "k", "kept"));
      assertEquals(1L, sentinel.client(master).call("WAIT", "1", "5000"), "replicated before");

      assertEquals(master, sentinel.killMaster());
      int promoted = sentinel.awaitFailover(FAILOVER_TIMEOUT);

      assertEquals(replica, promoted);
      assertEquals(promoted, sentinel.masterPort());
      assertEquals("kept", sentinel.client(promoted).call("GET", "k"));

      sentinel.restart(master);
      assertEquals("slave", ((List<?>) sentinel.client(master).call("ROLE")).get(0));
      assertEquals(promoted, sentinel.masterPort());
    }
    assertNothingListensOn(ports);
  }

  private static List<Integer> ports(String url) {
    return Arrays.stream(url.split(",", -1))
        .map(u -> Integer.parseInt(u.substring(u.lastIndexOf(':') + 1)))
        .toList();
  }

  private static void assertNothingListensOn(List<Integer> ports) {
    for (int port : ports) {
      try (var socket = new Socket()) {
        socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 500);
        fail("something still listens on port " + port + " after close()");
      } catch (IOException e) {
        // refused: the fixture's process is gone
      }
    }
  }
}
