package io.spool.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP proxy on a free local port in front of a real service, which a test can cut (every
 * connection dropped, new ones refused) and restore: an outage of that service as its clients see
 * it, without stopping the service other tests use. It can also hold what clients send for a while:
 * a slow link.
 */
public final class TcpProxy implements AutoCloseable {
  private final String targetHost;
  private final int targetPort;
  private final int port;
  private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();

  /** The proxy's own connections to the service, while they are open. */
  private final Set<Socket> upstreams = ConcurrentHashMap.newKeySet();

  private volatile ServerSocket listener;

  /** How long each chunk a client sends is held before it goes on to the service; 0 by default. */
  private volatile long delayToTargetMillis;

  private TcpProxy(String targetHost, int targetPort, int port) {
    this.targetHost = targetHost;
    this.targetPort = targetPort;
    this.port = port;
  }

  public static TcpProxy to(String host, int port) {
    try (var probe = new ServerSocket(0)) {
      var proxy = new TcpProxy(host, port, probe.getLocalPort());
      probe.close();
      proxy.restore();
      return proxy;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public int port() {
    return port;
  }

  /**
   * The local ports of the proxy's open connections to the service: the service sees each client
   * connection as coming from one of these (Postgres's {@code pg_stat_activity.client_port}).
   */
  public List<Integer> openConnectionPorts() {
    return upstreams.stream().filter(s -> !s.isClosed()).map(Socket::getLocalPort).toList();
  }

  /** Accepts and forwards connections again. */
  public synchronized void restore() {
    try {
      var server = new ServerSocket();
      server.setReuseAddress(true);
      server.bind(new InetSocketAddress("127.0.0.1", port));
      listener = server;
      Thread.ofVirtual().start(() -> accept(server));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Holds each chunk that clients send for this long before passing it on (answers are not held).
   */
  public void delayToTarget(java.time.Duration delay) {
    delayToTargetMillis = delay.toMillis();
  }

  /** Drops every connection and refuses new ones. */
  public synchronized void cut() {
    try {
      listener.close();
    } catch (IOException ignored) {
      // closing anyway
    }
    sockets.forEach(TcpProxy::closeQuietly);
    sockets.clear();
  }

  @Override
  public void close() {
    cut();
  }

  private void accept(ServerSocket server) {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        Socket upstream = new Socket(targetHost, targetPort);
        sockets.add(client);
        sockets.add(upstream);
        upstreams.add(upstream);
        Thread.ofVirtual().start(() -> pump(client, upstream, true));
        Thread.ofVirtual().start(() -> pump(upstream, client, false));
      } catch (IOException e) {
        return;
      }
    }
  }

  private void pump(Socket from, Socket to, boolean toTarget) {
    try (InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream()) {
      var buffer = new byte[16384];
      for (int n; (n = in.read(buffer)) >= 0; ) {
        long delay = toTarget ? delayToTargetMillis : 0;
        if (delay > 0) {
          Thread.sleep(delay);
        }
        out.write(buffer, 0, n);
        out.flush();
      }
    } catch (IOException ignored) {
      // a cut, or a close from either side
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      closeQuietly(from);
      closeQuietly(to);
      upstreams.remove(toTarget ? to : from);
    }
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException ignored) {
      // already closed
    }
  }
}
