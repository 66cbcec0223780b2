package io.spool.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;

/**
 * The Redis Cluster, Sentinel and TLS fixtures start what they say, fail over, and leave nothing.
 */
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

  @Test
  void aTlsRedisAnswersClientsThatTrustItsCa() throws Exception {
    int port;
    try (var redis = RedisTlsServer.start()) {
      port = redis.port();
      assertEquals("rediss://127.0.0.1:" + port, redis.tlsUrl());
      String cli =
          RedisProcesses.run(
              List.of(
                  "redis-cli",
                  "--tls",
                  "--cacert",
                  redis.caFile().toString(),
                  "-h",
                  "127.0.0.1",
                  "-p",
                  String.valueOf(port),
                  "PING"),
              Duration.ofSeconds(10));
      assertEquals("PONG", cli.strip());

      // A Java client checks the server's name too: both names are in the certificate.
      SSLContext trusting = trusting(redis.caFile());
      assertEquals("+PONG", pingOverTls(trusting, port, "127.0.0.1"));
      assertEquals("+PONG", pingOverTls(trusting, port, "localhost"));
      assertThrows(
          SSLHandshakeException.class,
          () -> pingOverTls(SSLContext.getDefault(), port, "127.0.0.1"),
          "a client that does not trust the CA is refused");
    }
    assertNothingListensOn(List.of(port));
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

  private static SSLContext trusting(Path caFile) throws Exception {
    var trustStore = KeyStore.getInstance(KeyStore.getDefaultType());
    trustStore.load(null, null);
    try (InputStream pem = Files.newInputStream(caFile)) {
      trustStore.setCertificateEntry(
          "spool-test-ca", CertificateFactory.getInstance("X.509").generateCertificate(pem));
    }
    var trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trust.init(trustStore);
    var context = SSLContext.getInstance("TLS");
    context.init(null, trust.getTrustManagers(), null);
    return context;
  }

  /** PING over TLS to 127.0.0.1, checking the certificate against {@code serverName}. */
  private static String pingOverTls(SSLContext context, int port, String serverName)
      throws IOException {
    try (var plain = new Socket()) {
      plain.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2000);
      plain.setSoTimeout(2000);
      try (var tls =
          (SSLSocket) context.getSocketFactory().createSocket(plain, serverName, port, true)) {
        var parameters = tls.getSSLParameters();
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        tls.setSSLParameters(parameters);
        tls.getOutputStream().write(RespClient.encode("PING"));
        tls.getOutputStream().flush();
        byte[] answer = new byte[5];
        int read = tls.getInputStream().readNBytes(answer, 0, 5);
        return new String(answer, 0, read, StandardCharsets.UTF_8);
      }
    }
  }
}
