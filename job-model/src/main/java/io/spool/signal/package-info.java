/**
 * Redis, the fast path: key names ({@code Keys}), queue signals on streams ({@code QueueSignals}),
 * Lua scripts, clients, and each job's event log and its live channel ({@code JobEvents}). Nothing
 * here is the truth; Postgres is. Used by the gateway and the worker.
 */
package io.spool.signal;
