package io.spool.client;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;

/** The gateway answered with an error status; {@link #problem()} says what was wrong. */
public final class SpoolException extends RuntimeException {
  private final Problem problem;

  public SpoolException(Problem problem) {
    super("HTTP " + problem.status() + " " + problem.title() + ": " + problem.detail());
    this.problem = problem;
  }

  /**
   * An error answer: its problem JSON, or, from something that is not a Spool gateway, its text.
   */
  static SpoolException of(int status, String reason, String contentType, Buffer body) {
    if (contentType != null && contentType.contains("json")) {
      try {
        Problem problem = ClientJson.decode(body, Problem.class);
        if (problem.status() == status) {
          return new SpoolException(problem);
        }
      } catch (RuntimeException e) {
        // not a problem document after all: shown as text below
      }
    }
    String text = body == null ? "" : body.toString(StandardCharsets.UTF_8);
    return new SpoolException(
        new Problem(
            "about:blank",
            reason,
            status,
            text.length() > 500 ? text.substring(0, 500) + "..." : text,
            null));
  }

  public int status() {
    return problem.status();
  }

  public Problem problem() {
    return problem;
  }

  /**
   * Worth trying again later: the gateway or a service behind it was unavailable, or asked to slow
   * down.
   */
  public boolean isTransient() {
    int status = problem.status();
    return status == 429 || status == 502 || status == 503 || status == 504;
  }
}
