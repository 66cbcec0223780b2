package io.spool.bench;

/**
 * What one benchmark run does.
 *
 * @param url the gateway's base URL
 * @param apiKey sent as {@code Authorization: Bearer}, or null
 * @param jobs jobs to submit
 * @param concurrency submissions (and status checks) in flight at once
 * @param rate submissions per second, or 0 for as fast as {@code concurrency} allows
 * @param type job type
 * @param request the job request, JSON text
 * @param queue queue, or null for the default
 * @param timeoutSecs the run gives up after this long
 * @param waitSecs 0: submit, then poll each job's status from a queue of unconfirmed jobs; above 0:
 *     each of {@code concurrency} callers submits one job and long-polls it with {@code GET
 *     /v1/jobs/{id}?wait_secs=waitSecs} before submitting the next
 */
public record BenchOptions(
    String url,
    String apiKey,
    int jobs,
    int concurrency,
    double rate,
    String type,
    String request,
    String queue,
    int timeoutSecs,
    int waitSecs) {}
