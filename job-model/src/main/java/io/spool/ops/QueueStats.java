package io.spool.ops;

import java.time.Instant;
import java.util.Map;

/**
 * The queues' figures at one moment, over all users: what operators watch and the dashboard shows.
 *
 * @param sampledAt when they were read (this process's clock)
 * @param queues by queue name: every queue with jobs pending, running or dead-lettered, and the
 *     queues this process serves
 * @param workersAlive workers whose heartbeat is younger than the visibility timeout
 * @param redisUp whether Redis answered; if not, every {@code lag} is null
 */
public record QueueStats(
    Instant sampledAt, Map<String, Queue> queues, long workersAlive, boolean redisUp) {
  /**
   * One queue.
   *
   * @param pending jobs waiting, due or not (scheduled, or in a retry's backoff)
   * @param running jobs being run
   * @param lag signals in the queue's streams not yet read by any worker (the consumer group's lag,
   *     summed over the priority bands); null when Redis did not answer
   * @param oldestDueAt when the longest-waiting due job became due; null when none is due
   * @param deadLetters failed jobs in the dead-letter queue (not discarded)
   */
  public record Queue(long pending, long running, Long lag, Instant oldestDueAt, long deadLetters) {
    static final Queue EMPTY = new Queue(0, 0, 0L, null, 0);
  }

  /** Before the first sample: nothing known yet. */
  static final QueueStats NONE = new QueueStats(Instant.EPOCH, Map.of(), 0, false);

  /** Whether a sample has been taken yet. */
  public boolean sampled() {
    return !sampledAt.equals(Instant.EPOCH);
  }

  /** All queues' dead letters together. */
  public long deadLetters() {
    return queues.values().stream().mapToLong(Queue::deadLetters).sum();
  }

  /** All queues' lag together; null when Redis did not answer. */
  public Long lag() {
    return redisUp
        ? queues.values().stream().mapToLong(q -> q.lag() == null ? 0 : q.lag()).sum()
        : null;
  }

  /** All queues' pending jobs together. */
  public long pending() {
    return queues.values().stream().mapToLong(Queue::pending).sum();
  }
}
