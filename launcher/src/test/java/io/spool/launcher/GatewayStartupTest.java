package io.spool.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.spool.config.SpoolConfig;
import io.spool.store.Migrations;
import io.spool.testing.TestServices;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A gateway process answers every request from the first moment its port accepts connections: a
 * readiness probe or a client that connects while the gateway is still starting gets an answer, it
 * is not left waiting on a connection nothing will ever answer.
 */
class GatewayStartupTest {
  /** Each start is one chance at the start-up race; on one CPU most starts hit it. */
  private static final int STARTS = 5;

  private static final int CALLERS = 6;

  /** Far longer than any answer takes here; an unanswered request would wait forever. */
  private static final Duration ANSWER_BOUND = Duration.ofSeconds(15);

  /** How long the callers go on once the gateway says it listens. */
  private static final Duration AFTER_START = Duration.ofSeconds(1);

  private static final String JOB = "{\"type\":\"echo\"}";
  private static final List<String> REQUESTS =
      List.of(
          "GET /health/live HTTP/1.1\r\nHost: spool\r\nConnection: close\r\n\r\n",
          "GET /health/ready HTTP/1.1\r\nHost: spool\r\nConnection: close\r\n\r\n",
          "POST /v1/jobs HTTP/1.1\r\nHost: spool\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: "
              + JOB.length()
              + "\r\n\r\n"
              + JOB);

  @Test
  void requestsSentWhileTheGatewayStartsAreAllAnswered() throws Exception {
    Map<String, String> env = TestServices.isolatedEnv(GatewayStartupTest.class);
    // Several HTTP verticles on one port, as on a machine with cores to spare.
    env.put("SPOOL_HTTP_INSTANCES", "2");
    SpoolConfig config = SpoolConfig.fromEnv(env);
    Migrations.apply(config);
    try {
      for (int start = 1; start <= STARTS; start++) {
        int port = ProcessCluster.freePort();
        env.put("SPOOL_HTTP_PORT", String.valueOf(port));
        var unanswered = new ConcurrentLinkedQueue<String>();
        var answered = new AtomicInteger();
        var stop = new AtomicBoolean();
        SpoolProcess gateway;
        try (var callers = Executors.newVirtualThreadPerTaskExecutor()) {
          for (int i = 0; i < CALLERS; i++) {
            String request = REQUESTS.get(i % REQUESTS.size());
            callers.submit(() -> callUntilStopped(port, request, stop, answered, unanswered));
          }
          gateway = SpoolProcess.startOnOneCpu("gateway", env, ProcessCluster.LOGS);
          try {
            gateway.awaitOutput("gateway listening", Duration.ofSeconds(60));
            Thread.sleep(AFTER_START.toMillis());
          } finally {
            stop.set(true);
          }
        }
        gateway.close();
        List<String> errors =
            gateway.output().lines().filter(line -> line.contains("Exception")).limit(5).toList();
        assertEquals(
            List.of(),
            new ArrayList<>(unanswered),
            "start "
                + start
                + ": of "
                + (answered.get() + unanswered.size())
                + " requests, these got no answer within "
                + ANSWER_BOUND
                + "; the gateway logged "
                + errors);
      }
    } finally {
      TestServices.cleanUp(config);
    }
  }

  /** Sends {@code request} on a new connection, again and again, as soon as the port accepts. */
  private static Void callUntilStopped(
      int port,
      String request,
      AtomicBoolean stop,
      AtomicInteger answered,
      Queue<String> unanswered)
      throws InterruptedException {
    String line = request.substring(0, request.indexOf(" HTTP/"));
    while (!stop.get()) {
      try (var socket = new Socket()) {
        try {
          socket.connect(new InetSocketAddress("127.0.0.1", port), 1000);
        } catch (IOException notListeningYet) {
          Thread.sleep(1);
          continue;
        }
        if (socket.getLocalPort() == port) {
          continue; // connected to itself: nothing listens yet on a port in the ephemeral range
        }
        socket.setSoTimeout((int) ANSWER_BOUND.toMillis());
        socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
        String status = statusLine(socket.getInputStream());
        if (status.startsWith("HTTP/1.1 ")) {
          answered.incrementAndGet();
        } else {
          unanswered.add(line + ": closed without an answer");
        }
      } catch (SocketTimeoutException e) {
        unanswered.add(line + ": no answer");
      } catch (IOException e) {
        unanswered.add(line + ": " + e);
      }
    }
    return null;
  }

  private static String statusLine(InputStream in) throws IOException {
    var line = new StringBuilder();
    for (int c = in.read(); c >= 0 && c != '\r'; c = in.read()) {
      line.append((char) c);
    }
    return line.toString();
  }
}
