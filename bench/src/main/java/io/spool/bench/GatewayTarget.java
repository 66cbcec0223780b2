package io.spool.bench;

import java.net.URI;
import java.util.function.BiConsumer;

/**
 * The gateway the subscriber benchmark's raw sockets connect to: where, and the header that
 * authorizes them (none without a key). Everything else goes through {@code SpoolClient}.
 *
 * @param authorization {@code Bearer <key>}, or null
 */
record GatewayTarget(String host, int port, String authorization) {
  static GatewayTarget of(String url, String apiKey) {
    URI uri = URI.create(url);
    return new GatewayTarget(
        uri.getHost(),
        uri.getPort() > 0 ? uri.getPort() : 80,
        apiKey == null ? null : "Bearer " + apiKey);
  }

  /** Adds the authorization header, if any, with the request's own header setter. */
  void authorize(BiConsumer<String, String> putHeader) {
    if (authorization != null) {
      putHeader.accept("Authorization", authorization);
    }
  }
}
