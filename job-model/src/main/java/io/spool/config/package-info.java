/**
 * Settings: every {@code SPOOL_*} variable read, defaulted and validated at start-up ({@code
 * SpoolConfig}, {@code Settings}), and the errors that stop a process with a message saying what to
 * fix. Used by the gateway, the worker and the {@code spool} command.
 */
package io.spool.config;
