package io.spool.testing;

import io.vertx.core.json.JsonObject;

/**
 * The gateway's openapi.json as vertx-openapi 5.0 can load it: it knows no media types but JSON,
 * text and a few others, so problem+json is read as JSON, and event streams and HTML as text. The
 * document the gateway serves keeps the real types.
 */
public final class OpenApiForValidator {
  private OpenApiForValidator() {}

  public static JsonObject document(String json) {
    return new JsonObject(
        json.replace("application/problem+json", "application/json")
            .replace("text/event-stream", "text/plain")
            .replace("text/html", "text/plain"));
  }

  /**
   * A response's Content-Type, read the same way, without its parameters (charset, Prometheus's
   * version).
   */
  public static String mediaType(String contentType) {
    return contentType == null
        ? null
        : contentType
            .replace("application/problem+json", "application/json")
            .replaceAll(";.*", "")
            .trim();
  }
}
