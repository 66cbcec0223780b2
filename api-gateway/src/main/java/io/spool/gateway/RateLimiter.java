package io.spool.gateway;

import io.spool.config.SpoolConfig.Limits;
import io.spool.signal.Keys;
import io.spool.signal.RedisScript;
import io.vertx.core.Future;
import io.vertx.redis.client.Redis;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Each user's request rate, a token bucket ({@code SPOOL_RATE_LIMIT} a second, {@code
 * SPOOL_RATE_BURST} at once) kept in Redis so every gateway draws on the same one, on Redis's
 * clock. If Redis does not answer, this gateway limits on its own with a bucket of the same size:
 * never no limit, never an error.
 */
final class RateLimiter {
  /** How long a Redis answer may take before this gateway decides alone. */
  private static final long REDIS_TIMEOUT_MILLIS = 250;

  /** After Redis failed to answer, how long this gateway limits alone before asking Redis again. */
  private static final long LOCAL_AFTER_FAILURE_NANOS = 1_000_000_000L;

  /**
   * KEYS[1] the user's bucket; ARGV[1] tokens a second, ARGV[2] the burst. Takes a token if there
   * is one and answers 0, else answers the milliseconds until there will be one.
   */
  private static final RedisScript TAKE =
      new RedisScript(
          """
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
      local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
      local tokens, at = tonumber(bucket[1]) or burst, tonumber(bucket[2]) or now
      tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
      local wait = 0
      if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) * 1000 / rate) end
      redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
      redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
      return wait""");

  private final Redis redis;
  private final Keys keys;
  private final int ratePerSec;
  private final int burst;

  /** The buckets this gateway keeps while Redis is away, by user. */
  private final Map<String, double[]> local = new HashMap<>();

  private volatile long localUntilNanos = System.nanoTime();

  RateLimiter(Redis redis, Keys keys, Limits limits) {
    this.redis = redis;
    this.keys = keys;
    this.ratePerSec = limits.ratePerSec();
    this.burst = limits.rateBurst();
  }

  boolean enabled() {
    return ratePerSec > 0;
  }

  /** Takes one request of {@code user}'s: 0 if it may go on, else the milliseconds to wait. */
  Future<Long> take(String user) {
    long now = System.nanoTime();
    if (now < localUntilNanos) {
      return Future.succeededFuture(takeLocally(user, now));
    }
    var call = TAKE.call().arg(1).arg(keys.rateBucket(user)).arg(ratePerSec).arg(burst);
    return TAKE.run(redis, call)
        .timeout(REDIS_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)
        .map(reply -> reply.toLong())
        .otherwise(
            e -> {
              // Redis away: decide here for a while rather than make every request wait for it.
              localUntilNanos = System.nanoTime() + LOCAL_AFTER_FAILURE_NANOS;
              return takeLocally(user, System.nanoTime());
            });
  }

  /** The same bucket, kept here: {tokens, nanoTime of the last count}. */
  private synchronized long takeLocally(String user, long now) {
    double[] bucket = local.computeIfAbsent(user, u -> new double[] {burst, now});
    bucket[0] = Math.min(burst, bucket[0] + (now - bucket[1]) / 1e9 * ratePerSec);
    bucket[1] = now;
    if (bucket[0] >= 1) {
      bucket[0] -= 1;
      return 0;
    }
    return (long) Math.ceil((1 - bucket[0]) * 1000 / ratePerSec);
  }
}
