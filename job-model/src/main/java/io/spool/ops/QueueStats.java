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
   * @param types by job type: every type with jobs pending or running here, or a live worker
   *     serving it here
   */
  public record Queue(
      long pending,
      long running,
      Long lag,
      Instant oldestDueAt,
      long deadLetters,
      Map<String, TypeFigures> types) {
    static final Queue EMPTY = new Queue(0, 0, 0L, null, 0, Map.of());
  }

  /**
   * One job type of a queue.
   *
   * @param pending its jobs waiting, due or not
   * @param running its jobs being run
   * @param workers live workers (Java or remote) that serve it on this queue: with none, its jobs
   *     wait until one comes
   */
  public record TypeFigures(long pending, long running, long workers) {}

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
