package io.spool.store;

/**
 * The worker registry ({@code workers}) and the job types workers have announced ({@code
 * job_types}).
 */
public final class WorkerSql {
  /**
   * A Java worker's heartbeat, which also registers it: {@code worker} with its {@code queues}, job
   * {@code types} and {@code concurrency}. Answers whether the row was inserted: after the first
   * beat that means a reaper had declared this worker dead.
   */
  public static final String HEARTBEAT =
      """
      INSERT INTO workers (id, queues, types, concurrency)
      VALUES (#{worker}, #{queues}, #{types}, #{concurrency})
      ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()
      RETURNING (xmax = 0) AS inserted""";

  /**
   * The queues some registered worker, Java or remote, consumes: whose delayed signals the Java
   * workers promote.
   */
  public static final String CONSUMED_QUEUES =
      "SELECT DISTINCT unnest(queues) AS queue FROM workers";

  /**
   * Registers remote worker {@code worker} (worker protocol) with its {@code name}, {@code queues},
   * {@code types} and {@code concurrency}, and its types as known ones, in one statement.
   */
  public static final String REGISTER_REMOTE =
      """
      WITH types AS (
        INSERT INTO job_types (type) SELECT unnest(#{types}::text[])
        ON CONFLICT (type) DO UPDATE SET seen_at = now())
      INSERT INTO workers (id, queues, types, concurrency, name, kind)
      VALUES (#{worker}, #{queues}, #{types}, #{concurrency}, #{name}, 'remote')""";

  /**
   * A remote worker's heartbeat: refreshes it and answers whether it drains, and, of its running
   * jobs, each one's attempt and whether a cancel was asked for (a row with a null id when it holds
   * none). No row at all: the worker had been declared dead, or had left.
   */
  public static final String REMOTE_HEARTBEAT =
      """
      WITH beat AS (
        UPDATE workers SET heartbeat_at = now() WHERE id = #{worker} AND kind = 'remote'
        RETURNING draining)
      SELECT beat.draining, j.id, j.attempts, j.cancel_requested,
             j.started_at < now() - make_interval(secs => #{secs}) AS started_long_ago
      FROM beat LEFT JOIN jobs j ON j.lease_owner = #{worker} AND j.status = 'running'""";

  /**
   * The remote worker {@code worker}, if it is still registered: its queues, types and whether it
   * drains.
   */
  public static final String SELECT_REMOTE =
      "SELECT queues, types, draining FROM workers WHERE id = #{worker} AND kind = 'remote'";

  /** Asks remote worker {@code worker} to drain; answers its row if there is one. */
  public static final String DRAIN =
      "UPDATE workers SET draining = true WHERE id = #{worker} AND kind = 'remote' RETURNING id";

  /**
   * Forgets {@code worker} (it stopped and handed its jobs back); answers its row if it had one.
   */
  public static final String DELETE_WORKER =
      "DELETE FROM workers WHERE id = #{worker} RETURNING id";

  /** Records job {@code types} as handled by some worker, or refreshes when they were last seen. */
  public static final String REGISTER_TYPES =
      """
      INSERT INTO job_types (type) SELECT unnest(#{types}::text[])
      ON CONFLICT (type) DO UPDATE SET seen_at = now()""";

  /** Every job type any worker has announced. */
  public static final String SELECT_TYPES = "SELECT type FROM job_types";

  private WorkerSql() {}
}
