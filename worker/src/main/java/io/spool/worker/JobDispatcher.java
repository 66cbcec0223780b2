package io.spool.worker;

import io.spool.model.AttemptRef;
import io.spool.model.Job;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayDeque;
import java.util.Set;

/**
 * Hands claimed jobs to idle job slots. Slots ask for their next job; the fetcher asks how many
 * slots are idle, so it never claims more than it can start at once. Safe from any thread.
 */
final class JobDispatcher {
  private final ArrayDeque<Job> ready = new ArrayDeque<>();
  private final ArrayDeque<Promise<Job>> idleSlots = new ArrayDeque<>();
  private Promise<Void> slotFreed;

  /** Called by a slot: its next job, when there is one. */
  Future<Job> next() {
    Promise<Job> slot = Promise.promise();
    Job job;
    Promise<Void> wake = null;
    synchronized (this) {
      job = ready.poll();
      if (job == null) {
        idleSlots.add(slot);
        if (slotFreed != null) {
          wake = slotFreed;
          slotFreed = null;
        }
      }
    }
    if (job != null) {
      slot.complete(job);
    }
    if (wake != null) {
      wake.complete();
    }
    return slot.future();
  }

  /** Called by the fetcher with a job it has claimed. */
  void dispatch(Job job) {
    Promise<Job> slot;
    synchronized (this) {
      slot = idleSlots.poll();
      if (slot == null) {
        ready.add(job);
        return;
      }
    }
    slot.complete(job);
  }

  /** Forgets the jobs claimed but not taken by a slot yet (their lease is handed back or lost). */
  synchronized void dropReady() {
    ready.clear();
  }

  /** Forgets the claimed, not yet started jobs whose attempt is not in {@code stillMine}. */
  synchronized void dropReadyBut(Set<AttemptRef> stillMine) {
    ready.removeIf(job -> !stillMine.contains(AttemptRef.of(job)));
  }

  /** Slots that would start a job at once if one were dispatched now. */
  synchronized int idle() {
    return Math.max(0, idleSlots.size() - ready.size());
  }

  /** Completes when at least one slot is idle. */
  synchronized Future<Void> whenIdle() {
    if (idle() > 0) {
      return Future.succeededFuture();
    }
    if (slotFreed == null) {
      slotFreed = Promise.promise();
    }
    return slotFreed.future();
  }
}
