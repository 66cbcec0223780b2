/**
 * Postgres, the source of truth: every statement Spool runs, by concern ({@code SubmitSql}, {@code
 * ClaimSql}, {@code AttemptSql}, {@code LeaseSql}, {@code UserJobSql}, {@code WorkerSql}, {@code
 * WebhookSql}, {@code IdempotencySql}), the row mapping, migrations, clients and the group-commit
 * batcher. Used by the gateway and the worker.
 */
package io.spool.store;
