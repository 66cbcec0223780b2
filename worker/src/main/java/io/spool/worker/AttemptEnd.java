package io.spool.worker;

import io.spool.attempt.AttemptFinisher.Outcome;

/**
 * What an attempt came to: an outcome to write, fenced by the attempt, or lost, with nothing to
 * write.
 */
sealed interface AttemptEnd {
  /** The attempt ends with this outcome (completed, failed or cancelled). */
  record Ends(Outcome outcome) implements AttemptEnd {}

  /**
   * The job is no longer this attempt's: handed back at shutdown, taken over after this worker was
   * declared dead, or a fenced write (checkpoint, side effect) found it gone. Nothing is written:
   * the fence would refuse it, and the job's new owner decides.
   */
  record Lost(String why) implements AttemptEnd {}
}
