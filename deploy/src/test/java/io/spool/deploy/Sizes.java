package io.spool.deploy;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Memory quantities and durations as Kubernetes and Docker compose write them. */
final class Sizes {
  static final long MIB = 1L << 20;

  /**
   * What a Spool JVM needs beside its heap (metaspace, code cache, thread stacks, Netty's direct
   * buffers): a container's memory limit must leave at least this once MaxRAMPercentage is taken.
   */
  static final long NON_HEAP_HEADROOM = 256 * MIB;

  private static final Pattern KUBERNETES_QUANTITY =
      Pattern.compile("(\\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?");
  private static final Pattern COMPOSE_BYTES = Pattern.compile("(?i)(\\d+)([bkmg])?b?");
  private static final Pattern GO_DURATION_PART = Pattern.compile("(\\d+)(h|ms|m|s)");

  private Sizes() {}

  /** {@code 1Gi}, {@code 512Mi}, {@code 1G}: bytes. */
  static long kubernetesBytes(String quantity) {
    Matcher m = KUBERNETES_QUANTITY.matcher(quantity.strip());
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "not a memory quantity Spool's manifests use: " + quantity);
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2) == null ? "" : m.group(2)) {
      case "Ki" -> n << 10;
      case "Mi" -> n << 20;
      case "Gi" -> n << 30;
      case "Ti" -> n << 40;
      case "k" -> n * 1_000L;
      case "M" -> n * 1_000_000L;
      case "G" -> n * 1_000_000_000L;
      case "T" -> n * 1_000_000_000_000L;
      default -> n;
    };
  }

  /**
   * Docker compose's {@code 1g}, {@code 512m}, {@code 1gb}: bytes (binary units, as Docker reads
   * them).
   */
  static long composeBytes(String size) {
    Matcher m = COMPOSE_BYTES.matcher(size.strip());
    if (!m.matches()) {
      throw new IllegalArgumentException("not a compose memory size: " + size);
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2) == null ? "b" : m.group(2).toLowerCase(Locale.ROOT)) {
      case "k" -> n << 10;
      case "m" -> n << 20;
      case "g" -> n << 30;
      default -> n;
    };
  }

  /** Docker compose's (Go's) durations: {@code 45s}, {@code 1m30s}. */
  static Duration composeDuration(String text) {
    Matcher m = GO_DURATION_PART.matcher(text.strip());
    Duration total = Duration.ZERO;
    int end = 0;
    while (m.find() && m.start() == end) {
      long n = Long.parseLong(m.group(1));
      total =
          total.plus(
              switch (m.group(2)) {
                case "h" -> Duration.ofHours(n);
                case "m" -> Duration.ofMinutes(n);
                case "s" -> Duration.ofSeconds(n);
                default -> Duration.ofMillis(n);
              });
      end = m.end();
    }
    if (end == 0 || end != text.strip().length()) {
      throw new IllegalArgumentException("not a compose duration: " + text);
    }
    return total;
  }
}
