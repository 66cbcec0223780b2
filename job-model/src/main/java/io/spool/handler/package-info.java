/**
 * The handler SPI: what a job type implements ({@code JobHandler}) and what it may call while it
 * runs ({@code JobContext}: events, checkpoints, once-only side effects). Implemented by the
 * built-in types and by users; run by the worker.
 */
package io.spool.handler;
