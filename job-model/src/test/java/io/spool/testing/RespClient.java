package io.spool.testing;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;

/**
 * Sends one command to a local Redis node and reads its answer (RESP2), on a connection of its own
 * that is closed again: enough for the topology fixtures to ask nodes about themselves, with no
 * client library that might hide what a node said.
 *
 * <p>Answers are {@link String} (simple and bulk strings), {@link Long}, {@code List<Object>} or
 * {@code null}; an error answer is thrown as {@link RespClient.ErrorReply}.
 *
 * @param port the node's port on 127.0.0.1.
 * @param password sent with {@code AUTH} before the command; null for none.
 */
public record RespClient(int port, String password) {
  private static final int TIMEOUT_MILLIS = 2000;

  /** A node answered with an error ({@code -ERR ...}, {@code -MOVED ...}, {@code -NOAUTH ...}). */
  public static final class ErrorReply extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ErrorReply(int port, String message) {
      super("redis 127.0.0.1:" + port + " answered: " + message);
    }
  }

  public static RespClient to(int port) {
    return new RespClient(port, null);
  }

  public Object call(String... args) {
    try (var socket = new Socket()) {
      socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), TIMEOUT_MILLIS);
      socket.setSoTimeout(TIMEOUT_MILLIS);
      var out = socket.getOutputStream();
      var in = new BufferedInputStream(socket.getInputStream());
      if (password != null) {
        out.write(encode("AUTH", password));
        out.flush();
        read(in);
      }
      out.write(encode(args));
      out.flush();
      return read(in);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "redis 127.0.0.1:" + port + " (" + String.join(" ", args) + "): " + e.getMessage(), e);
    }
  }

  /** The answer as text: for INFO, CLUSTER INFO, CLUSTER NODES, GET and the like. */
  public String text(String... args) {
    Object reply = call(args);
    return reply == null ? null : reply.toString();
  }

  /** Whether it answers PING now (false while it is down, starting or refusing us). */
  public boolean answers() {
    try {
      return "PONG".equals(call("PING"));
    } catch (RuntimeException e) {
      return false;
    }
  }

  /** One field of {@code INFO section}, such as {@code master_link_status}; null if absent. */
  public String info(String section, String field) {
    return field(text("INFO", section), field);
  }

  /** One {@code field:value} line of an INFO-like text; null if absent. */
  public static String field(String info, String field) {
    for (String line : info.split("\r?\n", -1)) {
      if (line.startsWith(field + ":")) {
        return line.substring(field.length() + 1).trim();
      }
    }
    return null;
  }

  static byte[] encode(String... args) {
    var command = new ByteArrayOutputStream();
    command.writeBytes(("*" + args.length + "\r\n").getBytes(StandardCharsets.UTF_8));
    for (String arg : args) {
      byte[] bytes = arg.getBytes(StandardCharsets.UTF_8);
      command.writeBytes(("$" + bytes.length + "\r\n").getBytes(StandardCharsets.UTF_8));
      command.writeBytes(bytes);
      command.writeBytes("\r\n".getBytes(StandardCharsets.UTF_8));
    }
    return command.toByteArray();
  }

  private Object read(InputStream in) throws IOException {
    int type = in.read();
    if (type < 0) {
      throw new IOException("connection closed before an answer");
    }
    String line = line(in);
    return switch (type) {
      case '+' -> line;
      case '-' -> throw new ErrorReply(port, line);
      case ':' -> Long.parseLong(line);
      case '$' -> {
        int length = Integer.parseInt(line);
        if (length < 0) {
          yield null;
        }
        byte[] bytes = in.readNBytes(length + 2); // and its CRLF
        yield new String(bytes, 0, length, StandardCharsets.UTF_8);
      }
      case '*' -> {
        int count = Integer.parseInt(line);
        if (count < 0) {
          yield null;
        }
        var items = new ArrayList<Object>(count);
        for (int i = 0; i < count; i++) {
          items.add(read(in));
        }
        yield Collections.unmodifiableList(items); // may hold nulls: no List.copyOf
      }
      default -> throw new IOException("not a RESP2 answer: " + (char) type + line);
    };
  }

  private static String line(InputStream in) throws IOException {
    var bytes = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) != '\r') {
      if (b < 0) {
        throw new IOException("connection closed in the middle of an answer");
      }
      bytes.write(b);
    }
    in.read(); // '\n'
    return bytes.toString(StandardCharsets.UTF_8);
  }
}
