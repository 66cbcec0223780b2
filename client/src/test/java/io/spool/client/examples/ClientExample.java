package io.spool.client.examples;

import io.spool.client.Job;
import io.spool.client.JobEvent;
import io.spool.client.JobRequest;
import io.spool.client.SpoolClient;
import io.spool.client.SpoolException;
import io.vertx.core.Handler;
import java.time.Duration;
import java.util.Map;

/**
 * The README's "Java client" example, compiled here so it cannot rot ({@code ReadmeExamplesTest}
 * checks the README holds it word for word) and run against a real gateway by launcher's {@code
 * ClientTest}.
 */
public final class ClientExample {
  private ClientExample() {}

  // tag::readme[]
  public static Job sleepWithProgress(String gatewayUrl) {
    // .apiKey(key) on the builder sends Authorization: Bearer
    SpoolClient spool = SpoolClient.builder(gatewayUrl).build();
    try {
      JobRequest sleep = JobRequest.builder("sleep").request(Map.of("ms", 600, "steps", 3)).build();
      Job job = spool.submit(sleep).await().job();
      // Each event once, in order, resuming by itself if the connection drops; then the final job.
      Handler<JobEvent> print = e -> System.out.println(e.seq() + " " + e.type() + " " + e.data());
      Job done = spool.follow(job.id(), 0, print).finished().await();
      // Without the events: long-polls until the job has finished, here for at most ten minutes.
      Job same = spool.waitFor(job.id(), Duration.ofMinutes(10)).await();
      System.out.println(same.status() + " " + same.result());
      return done;
    } catch (SpoolException e) {
      // The gateway refused: e.status(), e.problem().detail(), e.problem().errors()
      System.err.println(e.getMessage());
      throw e;
    } finally {
      spool.close().await();
    }
  }
  // end::readme[]
}
