package io.spool.client;

import java.util.List;

/**
 * An RFC 9457 problem, as the gateway sends with every error ({@code application/problem+json}).
 *
 * @param type machine-readable kind, e.g. {@code urn:spool:problem:validation}
 * @param title short summary of the kind
 * @param status the HTTP status
 * @param detail what was wrong with this request
 * @param errors field-level problems, possibly empty
 */
public record Problem(
    String type, String title, int status, String detail, List<FieldError> errors) {
  /** One invalid part of the input: {@code field} is a JSON path like {@code jobs[2].type}. */
  public record FieldError(String field, String message) {}

  public Problem {
    errors = errors == null ? List.of() : List.copyOf(errors);
  }
}
