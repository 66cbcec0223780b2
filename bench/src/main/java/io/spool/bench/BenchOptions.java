package io.spool.bench;

/**
 * What one benchmark run does.
 *
 * @param url         the gateway's base URL
 * @param apiKey      sent as {@code Authorization: Bearer}, or null
 * @param jobs        jobs to submit
 * @param concurrency submissions (and status checks) in flight at once
 * @param rate        submissions per second, or 0 for as fast as {@code concurrency} allows
 * @param type        job type
 * @param request     the job request, JSON text
 * @param queue       queue, or null for the default
 * @param timeoutSecs the run gives up after this long
 */
public record BenchOptions(String url, String apiKey, int jobs, int concurrency, double rate, String type,
    String request, String queue, int timeoutSecs) {}
