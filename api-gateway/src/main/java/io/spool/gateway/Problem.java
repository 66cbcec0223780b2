package io.spool.gateway;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.spool.model.JobJson;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import java.util.List;

/**
 * An RFC 9457 problem: every 4xx and 5xx the gateway sends is one of these, as {@code
 * application/problem+json}, saying what was wrong and never how the server is built.
 *
 * @param status HTTP status
 * @param slug machine-readable kind, sent as {@code type: urn:spool:problem:<slug>}
 * @param title short summary of the kind
 * @param detail what was wrong with this request
 * @param errors field-level problems, possibly empty
 */
public record Problem(
    int status, String slug, String title, String detail, List<FieldError> errors) {
  public static final String CONTENT_TYPE = "application/problem+json";

  /** One invalid part of the input: {@code field} is a JSON path like {@code jobs[2].type}. */
  public record FieldError(String field, String message) {}

  public static Problem of(int status, String slug, String title, String detail) {
    return new Problem(status, slug, title, detail, List.of());
  }

  public static Problem badRequest(String detail) {
    return of(400, "bad-request", "Bad request", detail);
  }

  public static Problem invalid(List<FieldError> errors) {
    String detail =
        errors.size() == 1
            ? errors.get(0).field() + ": " + errors.get(0).message()
            : errors.size() + " fields are invalid; see errors";
    return new Problem(422, "validation", "Invalid job submission", detail, List.copyOf(errors));
  }

  public static Problem conflict(String detail) {
    return of(409, "conflict", "Conflict", detail);
  }

  public static Problem notFound(String detail) {
    return of(404, "not-found", "Not found", detail);
  }

  /** User input as it may appear in a detail: printable ASCII only, at most 64 characters. */
  public static String printable(String text) {
    String printable = text.replaceAll("[^\\x20-\\x7e]", "?");
    return printable.length() > 64 ? printable.substring(0, 64) + "..." : printable;
  }

  public ProblemException exception() {
    return new ProblemException(this);
  }

  public ObjectNode toJson() {
    ObjectNode body =
        JobJson.MAPPER
            .createObjectNode()
            .put("type", "urn:spool:problem:" + slug)
            .put("title", title)
            .put("status", status)
            .put("detail", detail);
    if (!errors.isEmpty()) {
      var list = body.putArray("errors");
      errors.forEach(e -> list.addObject().put("field", e.field()).put("message", e.message()));
    }
    return body;
  }

  public void send(RoutingContext ctx) {
    // Some answers go out before the body is read (401, 404, 405, 413, 429): the connection must go
    // on reading.
    ConnectionGuard.drainUnread(ctx.request(), ctx.response());
    send(ctx.response());
  }

  public void send(HttpServerResponse response) {
    if (response.headWritten()) {
      response.reset();
      return;
    }
    response
        .setStatusCode(status)
        .putHeader("Content-Type", CONTENT_TYPE)
        .end(JobJson.encode(toJson()));
  }
}
