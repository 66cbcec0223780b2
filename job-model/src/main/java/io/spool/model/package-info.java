/**
 * The job and its events as both deployables see them: the records ({@code Job}, {@code NewJob},
 * {@code JobEvent}, {@code AttemptRef}: one attempt, the fencing token), the status transition
 * table every write follows ({@code JobStatus}), their JSON ({@code JobJson}), job ids and the name
 * rules. Used by the gateway, the worker and the bench.
 */
package io.spool.model;
