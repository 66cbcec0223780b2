/**
 * Outbound HTTP rules: where jobs and webhooks may connect (SSRF rules, {@code DestinationRules}),
 * the built-in {@code http} and {@code llm} calls, and webhook signatures that receivers verify.
 * Used by the worker (which calls out) and the gateway (which checks callback URLs and {@code http}
 * destinations at submission).
 */
package io.spool.net;
