package io.spool.worker.builtin;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * Collects what is wrong with a built-in job's request, as the gateway words it ({@code
 * request.<field>: message}), for the checks in {@code HttpCall} and {@code LlmCall}.
 */
final class RequestProblems implements BiConsumer<String, String> {
  private final List<String> lines = new ArrayList<>();

  @Override
  public void accept(String field, String message) {
    lines.add("request." + field + ": " + message);
  }

  /** Fails the attempt, naming every problem, if there was one. */
  void throwIfAny() {
    if (!lines.isEmpty()) {
      throw new IllegalArgumentException(String.join("; ", lines));
    }
  }
}
