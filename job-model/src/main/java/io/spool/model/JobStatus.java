package io.spool.model;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The five states of a job and the one table of allowed changes between them. Every status write in
 * Spool's SQL guards on the states it changes from, written out in the statement; {@code
 * StatusGuardsTest} checks each of those guards against this table, so the table below is the only
 * place the lifecycle is decided.
 */
public enum JobStatus {
  PENDING,
  RUNNING,
  COMPLETED,
  FAILED,
  CANCELLED;

  /**
   * Lower-case names, made once: statuses are parsed for every row read and written in every JSON.
   */
  private final String wire = name().toLowerCase(Locale.ROOT);

  private static final Map<String, JobStatus> BY_WIRE =
      Arrays.stream(values()).collect(Collectors.toUnmodifiableMap(JobStatus::wire, s -> s));

  private static final Map<JobStatus, Set<JobStatus>> NEXT =
      Map.of(
          PENDING, EnumSet.of(RUNNING, CANCELLED),
          // running → pending: a retry after backoff, a lease that expired, or a worker handing
          // back on shutdown.
          RUNNING, EnumSet.of(PENDING, COMPLETED, FAILED, CANCELLED),
          COMPLETED, EnumSet.noneOf(JobStatus.class),
          // failed → pending: a dead-lettered job requeued by a person.
          FAILED, EnumSet.of(PENDING),
          CANCELLED, EnumSet.noneOf(JobStatus.class));

  /** The name on the wire and in the database: lower case. */
  @JsonValue
  public String wire() {
    return wire;
  }

  /** Whether the job has ended, for now: completed, failed (dead-lettered) or cancelled. */
  public boolean isFinished() {
    return this == COMPLETED || this == FAILED || this == CANCELLED;
  }

  public boolean canChangeTo(JobStatus next) {
    return NEXT.get(this).contains(next);
  }

  /** The states from which a job may move to this one. */
  public Set<JobStatus> allowedFrom() {
    return Arrays.stream(values())
        .filter(s -> s.canChangeTo(this))
        .collect(Collectors.toCollection(() -> EnumSet.noneOf(JobStatus.class)));
  }

  public static Optional<JobStatus> fromWire(String value) {
    return Optional.ofNullable(value == null ? null : BY_WIRE.get(value));
  }

  public static JobStatus parse(String value) {
    return fromWire(value)
        .orElseThrow(() -> new IllegalArgumentException("unknown job status: " + value));
  }
}
