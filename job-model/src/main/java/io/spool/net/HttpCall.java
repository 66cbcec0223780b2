package io.spool.net;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.regex.Pattern;

/**
 * The request of a built-in {@code http} job: {@code {"method", "url", "headers"?, "body"?,
 * "after_ms"?}}. Checked by the gateway at submission (so a bad one is a 422 naming {@code
 * request.<field>}) and by the worker before it runs.
 *
 * @param method GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS; default GET
 * @param url http or https, obeying the SSRF rules
 * @param headers sent as given, minus those Spool sets itself (Host, Content-Length,
 *     Idempotency-Key...)
 * @param body the body to send: a JSON string is sent as its text, anything else as JSON (with
 *     {@code Content-Type: application/json} unless a header says otherwise); null for none
 * @param afterMs how long the job goes on after the request, modelling later work; 0 to 86,400,000
 */
public record HttpCall(
    String method, String url, Map<String, String> headers, JsonNode body, long afterMs) {
  /** The job type. */
  public static final String TYPE = "http";

  public static final Set<String> FIELDS = Set.of("method", "url", "headers", "body", "after_ms");
  static final Set<String> METHODS =
      Set.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS");
  static final long MAX_AFTER_MS = 24L * 3600 * 1000;
  static final int MAX_HEADERS = 64;
  static final int MAX_HEADER_VALUE = 8192;

  /** Set by Spool or by the connection: a job may not choose them. */
  static final Set<String> RESERVED_HEADERS =
      Set.of(
          "host",
          "content-length",
          "transfer-encoding",
          "connection",
          "keep-alive",
          "upgrade",
          "te",
          "trailer",
          "proxy-connection",
          "proxy-authorization",
          "idempotency-key");

  private static final Pattern TOKEN = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}");

  /** The header carrying the side effect's stable key, {@code <job id>:http}. */
  public static final String IDEMPOTENCY_HEADER = "Idempotency-Key";

  /**
   * Parses and checks {@code request}; every problem goes to {@code problem} as (field, message)
   * and the answer is then null. The URL's shape is checked against {@code rules}; its DNS answer
   * is the caller's to check.
   */
  public static HttpCall parse(
      JsonNode request, DestinationRules rules, BiConsumer<String, String> problem) {
    int[] problems = {0};
    BiConsumer<String, String> note =
        (field, message) -> {
          problems[0]++;
          problem.accept(field, message);
        };
    for (Iterator<String> names = request.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!FIELDS.contains(name)) {
        note.accept(name, "unknown field; allowed: after_ms, body, headers, method, url");
      }
    }
    String method = "GET";
    JsonNode methodNode = request.get("method");
    if (methodNode != null && !methodNode.isNull()) {
      method = methodNode.isTextual() ? methodNode.asText().toUpperCase(Locale.ROOT) : "";
      if (!METHODS.contains(method)) {
        note.accept(
            "method", "must be one of " + String.join(", ", METHODS.stream().sorted().toList()));
      }
    }
    String url = null;
    JsonNode urlNode = request.get("url");
    if (urlNode == null || urlNode.isNull()) {
      note.accept("url", "is required");
    } else if (!urlNode.isTextual()) {
      note.accept("url", "must be a string");
    } else {
      url = urlNode.asText();
      String why = rules.checkUrl(url);
      if (why != null) {
        note.accept("url", why);
      }
    }
    Map<String, String> headers = headers(request.get("headers"), note);
    JsonNode body = request.get("body");
    if (body != null && body.isNull()) {
      body = null;
    }
    if (body != null && (method.equals("GET") || method.equals("HEAD"))) {
      note.accept("body", "is not sent with " + method + "; use POST, PUT or PATCH");
    }
    long afterMs = 0;
    JsonNode after = request.get("after_ms");
    if (after != null && !after.isNull()) {
      if (!after.isIntegralNumber()
          || !after.canConvertToLong()
          || after.asLong() < 0
          || after.asLong() > MAX_AFTER_MS) {
        note.accept("after_ms", "must be a whole number from 0 to " + MAX_AFTER_MS);
      } else {
        afterMs = after.asLong();
      }
    }
    return problems[0] == 0 ? new HttpCall(method, url, headers, body, afterMs) : null;
  }

  private static Map<String, String> headers(JsonNode node, BiConsumer<String, String> note) {
    var headers = new LinkedHashMap<String, String>();
    if (node == null || node.isNull()) {
      return headers;
    }
    if (!node.isObject()) {
      note.accept("headers", "must be an object of header names to string values");
      return headers;
    }
    if (node.size() > MAX_HEADERS) {
      note.accept("headers", "at most " + MAX_HEADERS + " headers");
    }
    for (Iterator<Map.Entry<String, JsonNode>> fields = node.fields(); fields.hasNext(); ) {
      var field = fields.next();
      String name = field.getKey();
      JsonNode value = field.getValue();
      if (!TOKEN.matcher(name).matches()) {
        note.accept("headers", "'" + printable(name) + "' is not a valid header name");
      } else if (RESERVED_HEADERS.contains(name.toLowerCase(Locale.ROOT))) {
        note.accept("headers." + name, "is set by Spool and cannot be given");
      } else if (!value.isTextual()) {
        note.accept("headers." + name, "must be a string");
      } else if (value.asText().length() > MAX_HEADER_VALUE
          || value.asText().chars().anyMatch(c -> (c < 0x20 && c != '\t') || c == 0x7f)) {
        note.accept(
            "headers." + name,
            "must be at most " + MAX_HEADER_VALUE + " characters, without control characters");
      } else {
        headers.put(name, value.asText());
      }
    }
    return headers;
  }

  private static String printable(String s) {
    String cut = s.length() > 64 ? s.substring(0, 64) + "..." : s;
    return cut.replaceAll("\\p{Cntrl}", "?");
  }

  /** Whether a header named {@code name} (any case) was given. */
  public boolean hasHeader(String name) {
    return headers.keySet().stream().anyMatch(h -> h.equalsIgnoreCase(name));
  }
}
