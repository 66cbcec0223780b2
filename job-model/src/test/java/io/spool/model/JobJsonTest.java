package io.spool.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class JobJsonTest {
  @Test
  void writesJobsInSnakeCaseWithIsoInstantsAndLowerCaseStatus() {
    var id = JobIds.next();
    var job =
        new Job(
            id,
            "echo",
            "default",
            "alice",
            JobJson.tree("{\"x\":1}"),
            JobStatus.PENDING,
            null,
            null,
            0,
            3,
            Instant.parse("2026-11-22T10:00:00.123456Z"),
            null,
            null,
            5,
            Instant.parse("2026-11-22T10:00:00Z"),
            60,
            false,
            null,
            null,
            null,
            null,
            null);
    var tree = JobJson.tree(JobJson.encode(job));
    assertEquals(id.toString(), tree.get("id").asText());
    assertEquals("pending", tree.get("status").asText());
    assertEquals(3, tree.get("max_attempts").asInt());
    assertEquals(5, tree.get("priority").asInt());
    assertEquals(60, tree.get("timeout_secs").asInt());
    assertEquals(false, tree.get("cancel_requested").asBoolean());
    assertEquals("alice", tree.get("user_id").asText());
    assertEquals("2026-11-22T10:00:00.123456Z", tree.get("submitted_at").asText());
    assertTrue(tree.get("result").isNull());
    var decoded = JobJson.decode(JobJson.encode(job), Job.class);
    assertEquals(job.id(), decoded.id());
    assertEquals(job.status(), decoded.status());
    assertEquals(job.submittedAt(), decoded.submittedAt());
  }

  @Test
  void refusesDocumentsNestedDeeperThanTheLimit() {
    String deep =
        "[".repeat(JobJson.MAX_NESTING_DEPTH + 1) + "]".repeat(JobJson.MAX_NESTING_DEPTH + 1);
    assertThrows(RuntimeException.class, () -> JobJson.tree(deep));
    String fine = "[".repeat(10) + "]".repeat(10);
    assertEquals(10, depth(JobJson.tree(fine)));
  }

  @Test
  void idsAreTimeOrderedVersion7() {
    var first = JobIds.next();
    var second = JobIds.next();
    assertEquals(7, first.version());
    assertTrue(first.toString().compareTo(second.toString()) < 0);
    assertTrue(JobIds.parse("not-a-uuid").isEmpty());
    assertEquals(first, JobIds.parse(first.toString()).orElseThrow());
  }

  private static int depth(com.fasterxml.jackson.databind.JsonNode node) {
    return node.isArray() && !node.isEmpty() ? 1 + depth(node.get(0)) : 1;
  }
}
