package io.spool.net;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The {@code Spool-Signature} header of a webhook: {@code t=<unix seconds>,v1=<hex HMAC-SHA256 of
 * "<t>.<raw body>">}, one {@code v1} per configured secret so a secret can be rotated without a
 * gap. Receivers verify with {@link #verify}: recompute over the raw body, compare in constant
 * time, and refuse old timestamps so a captured delivery cannot be replayed later.
 */
public final class WebhookSignature {
  public static final String HEADER = "Spool-Signature";

  /** How far a receiver should accept a timestamp from its own clock. */
  public static final Duration DEFAULT_TOLERANCE = Duration.ofMinutes(5);

  private WebhookSignature() {}

  public static String sign(List<String> secrets, long unixSeconds, String body) {
    var header = new StringBuilder("t=").append(unixSeconds);
    for (String secret : secrets) {
      header
          .append(",v1=")
          .append(HexFormat.of().formatHex(hmac(secret, unixSeconds + "." + body)));
    }
    return header.toString();
  }

  /**
   * Whether {@code header} carries a valid signature of {@code body} by {@code secret}, made within
   * {@code tolerance} of {@code now}.
   */
  public static boolean verify(
      String secret, String header, String body, Duration tolerance, Instant now) {
    if (header == null) {
      return false;
    }
    long t = -1;
    var signatures = new ArrayList<String>();
    for (String part : header.split(",")) {
      String item = part.trim();
      if (item.startsWith("t=")) {
        try {
          t = Long.parseLong(item.substring(2));
        } catch (NumberFormatException e) {
          return false;
        }
      } else if (item.startsWith("v1=")) {
        signatures.add(item.substring(3));
      }
    }
    if (t < 0 || Math.abs(now.getEpochSecond() - t) > tolerance.toSeconds()) {
      return false;
    }
    byte[] expected = hmac(secret, t + "." + body);
    boolean match = false;
    for (String signature : signatures) {
      byte[] given;
      try {
        given = HexFormat.of().parseHex(signature);
      } catch (IllegalArgumentException e) {
        continue;
      }
      match |= MessageDigest.isEqual(expected, given);
    }
    return match;
  }

  private static byte[] hmac(String secret, String text) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return mac.doFinal(text.getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is missing from this JVM", e);
    }
  }
}
