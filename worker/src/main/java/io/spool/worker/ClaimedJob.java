package io.spool.worker;

import io.spool.model.Job;

/**
 * A job this worker owns for one attempt, with the stream entry that signalled it.
 *
 * @param job     the job as claimed; {@code job.attempts()} is the fencing token of this attempt
 * @param stream  the stream key the signal came from
 * @param entryId the stream entry to acknowledge once the attempt's outcome is committed
 */
record ClaimedJob(Job job, String stream, String entryId) {}
