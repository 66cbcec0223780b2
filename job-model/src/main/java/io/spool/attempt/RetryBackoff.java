package io.spool.attempt;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential backoff with full jitter: before retry n, a random wait from zero up to min(max, base
 * * 2^(n-1)), so failing jobs neither retry in lockstep nor wait forever.
 */
public record RetryBackoff(Duration base, Duration max) {
  /** The wait before the retry that follows attempt {@code attempt} (from 1), in milliseconds. */
  public long millisAfterAttempt(int attempt) {
    int doublings = Math.max(0, Math.min(attempt - 1, 40));
    long ceiling = Math.min(max.toMillis(), base.toMillis() << doublings);
    if (ceiling <= 0) {
      return 0;
    }
    return ThreadLocalRandom.current().nextLong(ceiling + 1);
  }
}
