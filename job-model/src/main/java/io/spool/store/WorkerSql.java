package io.spool.store;

/**
 * The worker registry ({@code workers}) and the job types workers have announced ({@code
 * job_types}).
 */
public final class WorkerSql {
  /**
   * A worker's heartbeat, which also registers it: {@code worker} with its {@code queues}. Answers
   * whether the row was inserted: after the first beat that means a reaper had declared this worker
   * dead.
   */
  public static final String HEARTBEAT =
      """
      INSERT INTO workers (id, queues) VALUES (#{worker}, #{queues})
      ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()
      RETURNING (xmax = 0) AS inserted""";

  /** Forgets {@code worker} (it stopped and handed its jobs back). */
  public static final String DELETE_WORKER = "DELETE FROM workers WHERE id = #{worker}";

  /** Records job {@code types} as handled by some worker, or refreshes when they were last seen. */
  public static final String REGISTER_TYPES =
      """
      INSERT INTO job_types (type) SELECT unnest(#{types}::text[])
      ON CONFLICT (type) DO UPDATE SET seen_at = now()""";

  /** Every job type any worker has announced. */
  public static final String SELECT_TYPES = "SELECT type FROM job_types";

  private WorkerSql() {}
}
