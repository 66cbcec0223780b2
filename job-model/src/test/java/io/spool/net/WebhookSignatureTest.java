package io.spool.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class WebhookSignatureTest {
  private static final String SECRET = "whsec-test-0123456789";
  private static final Duration TOLERANCE = WebhookSignature.DEFAULT_TOLERANCE;
  private final Instant now = Instant.ofEpochSecond(1_795_000_000L);

  @Test
  void matchesAKnownHmacSha256Vector() {
    // echo -n '1795000000.{"a":1}' | openssl dgst -sha256 -hmac whsec-test-0123456789
    assertEquals(
        "t=1795000000,v1=31ca6213e583e5af6278d5605515f8d70f5893a25138c5449f2650ae065b10cc",
        WebhookSignature.sign(List.of(SECRET), 1_795_000_000L, "{\"a\":1}"));
  }

  @Test
  void verifiesItsOwnSignatureAndRejectsTampering() {
    String header =
        WebhookSignature.sign(List.of(SECRET), now.getEpochSecond(), "{\"status\":\"completed\"}");
    assertTrue(
        WebhookSignature.verify(SECRET, header, "{\"status\":\"completed\"}", TOLERANCE, now));
    assertFalse(
        WebhookSignature.verify(SECRET, header, "{\"status\":\"failed\"}", TOLERANCE, now),
        "body changed");
    assertFalse(
        WebhookSignature.verify(
            "another-secret-0123", header, "{\"status\":\"completed\"}", TOLERANCE, now));
    assertFalse(
        WebhookSignature.verify(
            SECRET, header.replace("t=", "t=1"), "{\"status\":\"completed\"}", TOLERANCE, now));
    assertFalse(WebhookSignature.verify(SECRET, "garbage", "{}", TOLERANCE, now));
    assertFalse(WebhookSignature.verify(SECRET, null, "{}", TOLERANCE, now));
  }

  @Test
  void refusesOldTimestampsSoDeliveriesCannotBeReplayedLater() {
    String header = WebhookSignature.sign(List.of(SECRET), now.getEpochSecond(), "{}");
    assertTrue(WebhookSignature.verify(SECRET, header, "{}", TOLERANCE, now.plusSeconds(299)));
    assertFalse(WebhookSignature.verify(SECRET, header, "{}", TOLERANCE, now.plusSeconds(301)));
  }

  @Test
  void signsWithEverySecretWhileOneIsRotated() {
    String header =
        WebhookSignature.sign(
            List.of("old-secret-0123456789", "new-secret-0123456789"), now.getEpochSecond(), "{}");
    assertTrue(WebhookSignature.verify("old-secret-0123456789", header, "{}", TOLERANCE, now));
    assertTrue(WebhookSignature.verify("new-secret-0123456789", header, "{}", TOLERANCE, now));
  }
}
