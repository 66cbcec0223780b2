package io.spool.model;

import com.fasterxml.uuid.Generators;
import com.fasterxml.uuid.impl.TimeBasedEpochGenerator;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Job ids: UUIDv7, time-ordered, so the newest-first listing is an index scan on the primary key.
 */
public final class JobIds {
  private static final TimeBasedEpochGenerator GENERATOR = Generators.timeBasedEpochGenerator();
  private static final Pattern CANONICAL =
      Pattern.compile(
          "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

  private JobIds() {}

  public static UUID next() {
    return GENERATOR.generate();
  }

  /** Parses the canonical 36-character form only; {@link UUID#fromString} accepts odd shapes. */
  public static Optional<UUID> parse(String text) {
    if (text == null || !CANONICAL.matcher(text).matches()) {
      return Optional.empty();
    }
    return Optional.of(UUID.fromString(text));
  }
}
