/**
 * How attempts end or are given back: the batched, fenced finisher with its retry backoff, and the
 * announcement of jobs returned to pending. Used by Java workers and by the gateway's worker
 * protocol for remote workers alike, so both end attempts by the same rules.
 */
package io.spool.attempt;
