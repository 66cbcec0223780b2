package io.spool.handler;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Ends an attempt that did not finish but has something worth keeping, such as the text a model had
 * streamed when the job was cancelled. The attempt ends as it would have without it (cancelled,
 * timed out or failed, with {@code getMessage()} as the error of a failure, retried if attempts are
 * left); {@code partialResult} is stored as the job's {@code result} until a later attempt replaces
 * it.
 */
public final class PartialResultException extends RuntimeException {
  private final transient JsonNode partialResult;

  public PartialResultException(String message, JsonNode partialResult, Throwable cause) {
    super(message, cause);
    this.partialResult = partialResult;
  }

  public JsonNode partialResult() {
    return partialResult;
  }
}
