package io.spool.model;

import static io.spool.model.JobStatus.CANCELLED;
import static io.spool.model.JobStatus.COMPLETED;
import static io.spool.model.JobStatus.FAILED;
import static io.spool.model.JobStatus.PENDING;
import static io.spool.model.JobStatus.RUNNING;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class JobStatusTest {
  @Test
  void allowsExactlyTheLifecycleOfTheDesignNotes() {
    Set<String> allowed =
        Set.of(
            "pending>running",
            "pending>cancelled",
            "running>pending",
            "running>completed",
            "running>failed",
            "running>cancelled",
            "failed>pending");
    for (JobStatus from : JobStatus.values()) {
      for (JobStatus to : JobStatus.values()) {
        assertEquals(
            allowed.contains(from.wire() + ">" + to.wire()),
            from.canChangeTo(to),
            from + " -> " + to);
      }
    }
  }

  @Test
  void completedAndCancelledJobsNeverChangeAgain() {
    for (JobStatus to : JobStatus.values()) {
      assertFalse(COMPLETED.canChangeTo(to));
      assertFalse(CANCELLED.canChangeTo(to));
    }
  }

  @Test
  void guardsAreDerivedFromTheTable() {
    assertEquals(EnumSet.of(PENDING), RUNNING.allowedFrom());
    assertEquals(EnumSet.of(RUNNING, FAILED), PENDING.allowedFrom());
    assertEquals(EnumSet.of(PENDING, RUNNING), CANCELLED.allowedFrom());
  }

  @Test
  void wireNamesAreTheFiveOfTheDesignNotes() {
    assertEquals(
        Set.of("pending", "running", "completed", "failed", "cancelled"),
        Set.of(PENDING.wire(), RUNNING.wire(), COMPLETED.wire(), FAILED.wire(), CANCELLED.wire()));
    assertEquals(FAILED, JobStatus.parse("failed"));
    assertTrue(JobStatus.fromWire("FAILED").isEmpty());
  }
}
