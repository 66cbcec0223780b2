package io.spool.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.config.SpoolConfig;
import io.spool.gateway.Gateway;
import io.spool.testing.Eventually;
import io.spool.testing.HttpJson;
import io.spool.testing.TestServices;
import io.spool.worker.Worker;
import java.time.Duration;
import java.util.Map;
import java.util.Set;

/**
 * A gateway and a worker in the test's own JVM, on a Postgres schema and Redis key prefix of the
 * test class's own, for behaviour that does not need separate processes (crashes do: {@link
 * ProcessCluster}).
 */
public final class InProcessSpool implements AutoCloseable {
  public final SpoolConfig config;
  public final Gateway gateway;
  public final Worker worker;
  public final HttpJson http;

  private InProcessSpool(SpoolConfig config) {
    this.config = config;
    // The worker first: the gateway then reads the job types it registered (llm among them) at
    // start.
    this.worker = Worker.start(config);
    this.gateway = Gateway.start(config);
    this.http = new HttpJson("http://127.0.0.1:" + config.gateway().port());
  }

  /** Starts both with a free port, a one-second shutdown grace, and {@code settings} on top. */
  public static InProcessSpool start(Class<?> test, Map<String, String> settings) {
    Map<String, String> env = TestServices.isolatedEnv(test);
    env.put("SPOOL_HTTP_PORT", String.valueOf(ProcessCluster.freePort()));
    env.put("SPOOL_SHUTDOWN_GRACE_SECS", "1");
    env.putAll(settings);
    return new InProcessSpool(SpoolConfig.fromEnv(env));
  }

  /** The job once it has ended (completed, failed or cancelled), waiting up to 30 s. */
  public JsonNode awaitEnd(String id) {
    return awaitEnd(id, http);
  }

  /** The same, read through {@code as} (a client with its owner's API key). */
  public JsonNode awaitEnd(String id, HttpJson as) {
    Eventually.await(
        "job " + id + " ended",
        Duration.ofSeconds(30),
        () ->
            Set.of("completed", "failed", "cancelled")
                .contains(as.get("/v1/jobs/" + id).json().get("status").asText()));
    return as.get("/v1/jobs/" + id).json();
  }

  @Override
  public void close() {
    worker.close();
    gateway.close();
    TestServices.cleanUp(config);
  }
}
