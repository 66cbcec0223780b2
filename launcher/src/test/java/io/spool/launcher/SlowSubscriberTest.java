package io.spool.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.model.JobJson;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A WebSocket client that stops reading: it is closed with 1013 and a resume point once it has been
 * backed up for a while, resuming from there misses nothing, and a client on the same job that
 * reads is served in full and on time meanwhile.
 */
class SlowSubscriberTest {
  static InProcessSpool spool;
  static final HttpClient client = HttpClient.newHttpClient();

  @BeforeAll
  static void start() {
    spool = InProcessSpool.start(SlowSubscriberTest.class, Map.of());
  }

  @AfterAll
  static void stop() {
    spool.close();
  }

  private static String ws(String path) {
    return "ws://127.0.0.1:" + spool.config.gateway().port() + path;
  }

  private static String outputText(List<JsonNode> messages) {
    return messages.stream()
        .filter(m -> m.get("type").asText().equals("output"))
        .map(m -> m.get("data").get("text").asText())
        .collect(Collectors.joining());
  }

  @Test
  void aStalledClientIsClosedWithAResumePointAndTheOthersAreNotDelayed() throws Exception {
    // 1,200 events of 16 KiB over 12 s or more: far more than the socket buffers of a stalled
    // client hold (the kernel lets a loopback sender queue about 4 MiB).
    String id =
        spool.http.submit(
            "{\"type\":\"firehose\",\"request\":{\"count\":1200,\"size\":16384,\"every_ms\":10}}");
    try (var slow = RawWebSocket.open(spool.config.gateway().port(), "/v1/jobs/" + id + "/ws")) {
      var fast = new EventStreamTest.Collector();
      client
          .newWebSocketBuilder()
          .buildAsync(URI.create(ws("/v1/jobs/" + id + "/ws")), fast)
          .get(10, TimeUnit.SECONDS);

      fast.closed.get(60, TimeUnit.SECONDS);
      Instant fastEnded = Instant.now();
      JsonNode job = spool.awaitEnd(id);
      assertEquals("completed", job.get("status").asText());
      String whole = job.get("result").get("text").asText();
      assertEquals(1200 * 16384, whole.length());
      assertEquals(whole, outputText(fast.messages), "the reading client got every event");
      Duration afterFinish =
          Duration.between(Instant.parse(job.get("finished_at").asText()), fastEnded);
      assertTrue(
          afterFinish.compareTo(Duration.ofSeconds(3)) < 0,
          "the reading client's end came " + afterFinish + " after the job finished");

      // The stalled client now reads what it was sent before it was closed.
      var seen = slow.readUntilClosed(Duration.ofSeconds(30));
      assertEquals(Integer.valueOf(1013), seen.closeCode(), "closed as too slow: " + seen);
      String received = outputText(seen.messages());
      assertTrue(
          received.length() < whole.length() && whole.startsWith(received),
          "it was sent a prefix of the text, then cut off: " + received.length());
      long last = seen.messages().isEmpty() ? 0 : seen.messages().getLast().get("seq").asLong();
      assertTrue(
          seen.closeReason().contains("after=" + last),
          "the reason says where to resume: " + seen.closeReason());

      // Resuming from there misses nothing.
      var resumed = new EventStreamTest.Collector();
      client
          .newWebSocketBuilder()
          .buildAsync(URI.create(ws("/v1/jobs/" + id + "/ws?after=" + last)), resumed)
          .get(10, TimeUnit.SECONDS);
      resumed.closed.get(30, TimeUnit.SECONDS);
      assertEquals(whole, received + outputText(resumed.messages));
    }
  }

  /**
   * A WebSocket client on a plain socket with a tiny receive buffer, which reads nothing after the
   * handshake until told to: the way a stuck browser tab or a blocked consumer looks to the server.
   */
  private static final class RawWebSocket implements AutoCloseable {
    record Seen(List<JsonNode> messages, Integer closeCode, String closeReason) {}

    private final Socket socket;
    private final DataInputStream in;

    private RawWebSocket(Socket socket) throws IOException {
      this.socket = socket;
      this.in = new DataInputStream(socket.getInputStream());
    }

    static RawWebSocket open(int port, String path) throws IOException {
      var socket = new Socket();
      socket.setReceiveBufferSize(4096);
      socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      socket
          .getOutputStream()
          .write(
              ("GET "
                      + path
                      + " HTTP/1.1\r\nHost: 127.0.0.1:"
                      + port
                      + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      + "Sec-WebSocket-Version: 13\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
      var raw = new RawWebSocket(socket);
      String head = raw.readHead();
      assertTrue(head.startsWith("HTTP/1.1 101"), head);
      return raw;
    }

    private String readHead() throws IOException {
      var head = new StringBuilder();
      while (!head.toString().endsWith("\r\n\r\n")) {
        head.append((char) in.readUnsignedByte());
      }
      return head.toString();
    }

    /** Every message until the server's close frame (or the end of the connection). */
    Seen readUntilClosed(Duration timeout) throws IOException {
      socket.setSoTimeout((int) timeout.toMillis());
      var messages = new ArrayList<JsonNode>();
      var message = new ByteArrayOutputStream();
      try {
        while (true) {
          int first = in.readUnsignedByte();
          int second = in.readUnsignedByte();
          long length = second & 0x7f;
          if (length == 126) {
            length = in.readUnsignedShort();
          } else if (length == 127) {
            length = in.readLong();
          }
          byte[] payload = new byte[Math.toIntExact(length)];
          in.readFully(payload);
          int opcode = first & 0x0f;
          if (opcode == 0x8) {
            int code = ((payload[0] & 0xff) << 8) | (payload[1] & 0xff);
            return new Seen(
                messages, code, new String(payload, 2, payload.length - 2, StandardCharsets.UTF_8));
          }
          if (opcode == 0x1 || opcode == 0x0) {
            message.write(payload);
            if ((first & 0x80) != 0) {
              messages.add(JobJson.tree(message.toString(StandardCharsets.UTF_8)));
              message.reset();
            }
          }
        }
      } catch (EOFException e) {
        return new Seen(messages, null, "");
      }
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }
}
