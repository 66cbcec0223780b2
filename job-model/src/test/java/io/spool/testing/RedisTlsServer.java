package io.spool.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A redis-server of a test's own that speaks only TLS, on a free port, with a CA and a server
 * certificate made for it with {@code openssl} (the server's names: 127.0.0.1 and localhost).
 * Clients need no certificate of their own ({@code tls-auth-clients no}); they trust {@link
 * #caFile}.
 */
public final class RedisTlsServer implements AutoCloseable {
  private static final Duration OPENSSL_TIMEOUT = Duration.ofSeconds(30);

  private final RedisProcesses processes = new RedisProcesses("spool-redis-tls");
  private int port;

  private RedisTlsServer() {}

  public static RedisTlsServer start() {
    var server = new RedisTlsServer();
    try {
      server.makeCertificates();
      Path dir = server.processes.dir();
      server.port =
          server
              .processes
              .start(
                  1,
                  ports ->
                      List.of(
                          "redis-server",
                          "--port",
                          "0", // no plain-text port at all
                          "--tls-port",
                          String.valueOf(ports[0]),
                          "--tls-cert-file",
                          dir.resolve("server.crt").toString(),
                          "--tls-key-file",
                          dir.resolve("server.key").toString(),
                          "--tls-ca-cert-file",
                          dir.resolve("ca.crt").toString(),
                          "--tls-auth-clients",
                          "no",
                          "--bind",
                          "127.0.0.1",
                          "--save",
                          "",
                          "--appendonly",
                          "no",
                          "--dir",
                          dir.toString()))[0];
      return server;
    } catch (RuntimeException | Error e) {
      server.close();
      throw e;
    }
  }

  /** {@code rediss://127.0.0.1:port}, as {@code SPOOL_REDIS_URL} takes it. */
  public String tlsUrl() {
    return RedisProcesses.url("rediss", null, port);
  }

  public int port() {
    return port;
  }

  /** The CA that signed the server's certificate, PEM: what a client must trust. */
  public Path caFile() {
    return processes.dir().resolve("ca.crt");
  }

  /** Kills it and deletes its files, keys and certificates included. */
  @Override
  public void close() {
    processes.close();
  }

  private void makeCertificates() {
    Path dir = processes.dir();
    String ca = dir.resolve("ca.crt").toString();
    String caKey = dir.resolve("ca.key").toString();
    String key = dir.resolve("server.key").toString();
    String request = dir.resolve("server.csr").toString();
    // EC keys: made in milliseconds, where RSA ones take a good part of a second on a busy machine.
    openssl(
        "req",
        "-x509",
        "-new",
        "-nodes",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-keyout",
        caKey,
        "-out",
        ca,
        "-days",
        "2",
        "-subj",
        "/CN=Spool test CA");
    openssl(
        "req",
        "-new",
        "-nodes",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-keyout",
        key,
        "-out",
        request,
        "-subj",
        "/CN=127.0.0.1");
    // Java checks the name in subjectAltName (never the CN); redis-cli only checks the chain.
    openssl(
        "x509",
        "-req",
        "-in",
        request,
        "-CA",
        ca,
        "-CAkey",
        caKey,
        "-CAcreateserial",
        "-out",
        dir.resolve("server.crt").toString(),
        "-days",
        "2",
        "-extfile",
        writeExtensions(dir).toString());
  }

  private static Path writeExtensions(Path dir) {
    Path file = dir.resolve("server.ext");
    try {
      Files.writeString(
          file,
          """
          basicConstraints = CA:FALSE
          keyUsage = digitalSignature, keyEncipherment
          extendedKeyUsage = serverAuth
          subjectAltName = IP:127.0.0.1, DNS:localhost
          """);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return file;
  }

  private static void openssl(String... args) {
    var command = new ArrayList<String>();
    command.add("openssl");
    command.addAll(List.of(args));
    RedisProcesses.run(command, OPENSSL_TIMEOUT);
  }
}
