package io.spool.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class JobTest {
  @Test
  void aJustSubmittedJobIsPendingWithItsSubmissionAndNothingRunYet() {
    var submission =
        new NewJob(
            JobIds.next(),
            "echo",
            "mail",
            "u",
            JobJson.tree("{\"a\":1}"),
            5,
            7,
            null,
            60,
            "https://example.com/hook",
            "key-1",
            "hash",
            "ck",
            false,
            3600);
    Instant submitted = Instant.parse("2026-12-03T10:00:00Z");
    Instant due = Instant.parse("2026-12-03T10:05:00Z");

    Job job = Job.justSubmitted(submission, submitted, due);

    assertEquals(submission.id(), job.id());
    assertEquals("echo", job.type());
    assertEquals("mail", job.queue());
    assertEquals("u", job.userId());
    assertEquals(submission.request(), job.request());
    assertEquals(JobStatus.PENDING, job.status());
    assertEquals(0, job.attempts());
    assertEquals(5, job.maxAttempts());
    assertEquals(7, job.priority());
    assertEquals(submitted, job.submittedAt());
    assertEquals(due, job.runAt());
    assertEquals(60, job.timeoutSecs());
    assertEquals("https://example.com/hook", job.callbackUrl());
    assertEquals("ck", job.concurrencyKey());
    assertEquals(3600, job.retentionSecs());
    assertFalse(job.cancelRequested());
    assertNull(job.result());
    assertNull(job.error());
    assertNull(job.startedAt());
    assertNull(job.finishedAt());
    assertNull(job.checkpoint());
    assertNull(job.webhook());
  }
}
