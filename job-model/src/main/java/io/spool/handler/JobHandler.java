package io.spool.handler;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A job type. Implement it, list the class in {@code
 * META-INF/services/io.spool.handler.JobHandler}, and put the jar on the worker's class path: jobs
 * whose {@code type} equals {@link #type()} run here.
 *
 * <p>Handlers are plain straight-line code, each attempt on a virtual thread of its own: they may
 * block, sleep, call HTTP APIs and {@code await()} Vert.x futures. One instance serves every job of
 * its type, concurrently, so keep per-job state in locals. Cancellation, the job's timeout and the
 * worker's shutdown interrupt the thread: let {@link InterruptedException} through.
 */
public interface JobHandler {
  /** The job type this handler runs; letters, digits, '.', '_', '-'. */
  String type();

  /**
   * Runs one attempt of a job. The returned JSON becomes the job's {@code result}; throwing fails
   * the attempt, with the exception's message as the job's {@code error} ({@link
   * PartialResultException} keeps a partial result too).
   */
  JsonNode run(JobContext context) throws Exception;
}
