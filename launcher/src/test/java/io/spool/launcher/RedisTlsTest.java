package io.spool.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.spool.testing.Eventually;
import io.spool.testing.RedisTlsServer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Spool on a Redis that speaks only TLS ({@code rediss://}), its certificate signed by a CA the JVM
 * does not know and given as {@code SPOOL_REDIS_CA_FILE}: signals, events and pub/sub all go over
 * TLS.
 */
class RedisTlsTest {
  static RedisTlsServer redis;
  static ProcessCluster spool;

  @BeforeAll
  static void start() {
    redis = RedisTlsServer.start();
    spool =
        ProcessCluster.start(
            RedisTlsTest.class,
            Map.of(
                "SPOOL_REDIS_URL", redis.tlsUrl(),
                "SPOOL_REDIS_CA_FILE", redis.caFile().toString()),
            1);
  }

  @AfterAll
  static void stop() {
    if (spool != null) {
      spool.close();
    }
    if (redis != null) {
      redis.close();
    }
  }

  @Test
  void jobsAndTheirEventsGoThroughATlsRedis() throws Exception {
    List<String> ids = Jobs.submitBatch(spool.http, 200, "record", 0);
    Eventually.await(
        "the jobs completed", Duration.ofSeconds(60), () -> spool.countJobs("completed") == 200);
    Jobs.assertRanOnce(spool, ids);
    String id = spool.http.submit("{\"type\":\"sleep\",\"request\":{\"ms\":500}}");
    var frames = Sse.read(spool.http.baseUrl() + "/v1/jobs/" + id + "/events", null);
    assertEquals("end", frames.getLast().event(), frames.toString());
    assertEquals("completed", frames.getLast().data().path("data").path("status").asText());
  }
}
