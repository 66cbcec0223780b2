/**
 * Operability both deployables share: Micrometer meters ({@code SpoolMetrics}), the metrics and
 * health endpoints, and the queue statistics sampler behind {@code /v1/queues}, the stats line and
 * the gauges.
 */
package io.spool.ops;
