package io.spool.client;

import java.util.List;

/**
 * One page of a job listing, newest first.
 *
 * @param jobs the jobs on this page
 * @param nextCursor pass to {@link JobQuery#after} for the next page; null on the last page
 */
public record JobPage(List<Job> jobs, String nextCursor) {}
