package io.spool.worker;

import io.spool.attempt.RetryBackoff;
import io.spool.config.SpoolConfig.Webhooks;
import io.spool.net.DestinationRules;
import io.spool.net.DestinationRules.RefusedDestination;
import io.spool.net.WebhookSignature;
import io.spool.ops.SpoolMetrics;
import io.spool.store.GroupCommit;
import io.spool.store.WebhookSql;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.templates.SqlTemplate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers the webhook outbox: claims due deliveries (leased, so a delivery whose worker died is
 * sent again by another), POSTs each signed body to its callback URL after checking every address
 * the host resolves to against the SSRF rules, and records the outcome: delivered on a 2xx;
 * otherwise due again after a backoff, until the attempts run out and it is recorded as failed,
 * visible on the job. Delivery is at least once: receivers deduplicate on {@code Spool-Delivery}.
 * Runs on a virtual thread; each POST is a task of its own on this verticle's context, so they
 * overlap at their awaits.
 */
final class WebhookSender extends VerticleBase {
  private static final Logger log = LoggerFactory.getLogger(WebhookSender.class);

  /** The safety net behind NOTIFY, and how late a retry due after its backoff may start. */
  static final long POLL_MILLIS = 1000;

  /** A claimed delivery is sent again by another worker this long after its POST's timeout. */
  private static final long LEASE_MARGIN_SECS = 30;

  private static final long RETRY_MILLIS = 1000;

  private record Delivery(long id, String jobId, String url, String payload, int attempt) {}

  private record Outcome(
      Delivery delivery, String state, Integer status, String error, long backoffMillis) {}

  private final SqlClient pg;
  private final Webhooks settings;
  private final DestinationRules destinations;
  private final RetryBackoff backoff;
  private final String workerId;
  private final GroupCommit<Outcome, Void> records;
  private HttpClient http;

  /** Deliveries being sent; read and written only on this verticle's context. */
  private int inFlight;

  private volatile Promise<Void> wake = Promise.promise();
  private volatile boolean stopping;

  private final SpoolMetrics metrics;

  /**
   * @param recordContext the event-loop context that batches outcome writes
   */
  WebhookSender(
      SqlClient pg,
      Webhooks settings,
      String workerId,
      Context recordContext,
      SpoolMetrics metrics) {
    this.metrics = metrics;
    this.pg = pg;
    this.settings = settings;
    this.destinations = settings.destinations();
    this.backoff = new RetryBackoff(settings.retryBase(), settings.retryMax());
    this.workerId = workerId;
    this.records = new GroupCommit<>(recordContext, this::record, o -> 1, 500, 2);
  }

  /** A NOTIFY said new deliveries were written. */
  void wake() {
    wake.tryComplete();
  }

  @Override
  public Future<?> start() {
    // Redirects are never followed: a receiver could point one at an address the rules forbid.
    http =
        vertx.createHttpClient(
            new HttpClientOptions()
                .setConnectTimeout((int) settings.timeout().toMillis())
                .setForceSni(true)
                .setMaxRedirects(0),
            new PoolOptions().setHttp1MaxSize(Math.max(1, Math.min(settings.concurrency(), 100))));
    context.runOnContext(v -> sendUntilStopped());
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    wake();
    // POSTs still in flight are abandoned; their leases run out and another worker sends them
    // again.
    return http.close();
  }

  private void sendUntilStopped() {
    while (!stopping) {
      Promise<Void> armed = Promise.promise();
      wake = armed;
      int free = settings.concurrency() - inFlight;
      int claimed = 0;
      try {
        if (free > 0) {
          for (Delivery delivery : claim(free)) {
            claimed++;
            inFlight++;
            context.runOnContext(v -> deliver(delivery));
          }
        }
      } catch (VirtualMachineError e) {
        throw e;
      } catch (Throwable e) {
        if (stopping || e instanceof InterruptedException) {
          return;
        }
        log.warn(
            "claiming webhook deliveries failed, retrying in {} ms: {}",
            RETRY_MILLIS,
            e.toString());
        vertx.timer(RETRY_MILLIS).await();
        continue;
      }
      if (free == 0 || claimed < free) {
        Future.any(armed.future(), vertx.timer(POLL_MILLIS)).await();
      }
    }
  }

  private List<Delivery> claim(int wanted) {
    long leaseSecs = settings.timeout().toSeconds() + LEASE_MARGIN_SECS;
    var deliveries = new ArrayList<Delivery>();
    for (Row row :
        SqlTemplate.forQuery(pg, WebhookSql.CLAIM_DUE)
            .execute(Map.of("max", wanted, "leaseSecs", leaseSecs, "worker", workerId))
            .await()) {
      deliveries.add(
          new Delivery(
              row.getLong("id"),
              row.getUUID("job_id").toString(),
              row.getString("url"),
              row.getString("payload"),
              row.getInteger("attempts")));
    }
    return deliveries;
  }

  private void deliver(Delivery delivery) {
    try {
      Outcome outcome;
      try {
        outcome = post(delivery);
      } catch (VirtualMachineError e) {
        throw e;
      } catch (Throwable e) {
        if (stopping) {
          return;
        }
        outcome = retryOrFail(delivery, null, describe(e));
      }
      metrics.webhookDelivery(outcome.state());
      if (!outcome.state().equals("delivered")) {
        log.info(
            "webhook delivery {} of job {} attempt {}: {}",
            delivery.id(),
            delivery.jobId(),
            delivery.attempt(),
            outcome.error());
      }
      records.submit(outcome).await();
    } catch (VirtualMachineError e) {
      throw e;
    } catch (Throwable e) {
      // Unrecorded, the delivery's lease runs out and it is sent again: at least once, never lost.
      log.warn("could not record webhook delivery {}: {}", delivery.id(), e.toString());
    } finally {
      inFlight--;
      wake();
    }
  }

  private Outcome post(Delivery delivery) {
    RequestOptions request;
    try {
      request = PinnedRequests.to(vertx, destinations, delivery.url()).await();
    } catch (RefusedDestination e) {
      return e.mayChange()
          ? retryOrFail(delivery, null, e.getMessage())
          : outcome(delivery, "failed", null, e.getMessage());
    }
    long now = Instant.now().getEpochSecond();
    request
        .setMethod(HttpMethod.POST)
        .setTimeout(settings.timeout().toMillis())
        .putHeader("Content-Type", "application/json")
        .putHeader("User-Agent", "Spool-Webhook/1")
        .putHeader("Spool-Delivery", Long.toString(delivery.id()))
        .putHeader("Spool-Attempt", Integer.toString(delivery.attempt()))
        .putHeader("Spool-Job-Id", delivery.jobId())
        .putHeader(
            WebhookSignature.HEADER,
            WebhookSignature.sign(settings.secrets(), now, delivery.payload()));
    var response = http.request(request).compose(r -> r.send(delivery.payload())).await();
    int status = response.statusCode();
    response.end().await();
    if (status >= 200 && status < 300) {
      return outcome(delivery, "delivered", status, null);
    }
    return retryOrFail(delivery, status, "the receiver answered HTTP " + status);
  }

  private Outcome retryOrFail(Delivery delivery, Integer status, String error) {
    if (delivery.attempt() >= settings.maxAttempts()) {
      return outcome(
          delivery,
          "failed",
          status,
          error
              + " (attempt "
              + delivery.attempt()
              + " of "
              + settings.maxAttempts()
              + ", giving up)");
    }
    return new Outcome(
        delivery, "retry", status, error, backoff.millisAfterAttempt(delivery.attempt()));
  }

  private static Outcome outcome(Delivery delivery, String state, Integer status, String error) {
    return new Outcome(delivery, state, status, error, 0);
  }

  private static String describe(Throwable e) {
    String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    return "could not deliver: " + message.replace('\u0000', ' ');
  }

  private Future<List<Void>> record(List<Outcome> batch) {
    int n = batch.size();
    var ids = new Long[n];
    var attempts = new Integer[n];
    var states = new String[n];
    var statuses = new Integer[n];
    var errors = new String[n];
    var backoffs = new Integer[n];
    for (int i = 0; i < n; i++) {
      Outcome outcome = batch.get(i);
      ids[i] = outcome.delivery().id();
      attempts[i] = outcome.delivery().attempt();
      states[i] = outcome.state();
      statuses[i] = outcome.status();
      errors[i] = outcome.error();
      backoffs[i] = (int) Math.min(Integer.MAX_VALUE, outcome.backoffMillis());
    }
    return SqlTemplate.forQuery(pg, WebhookSql.RECORD_MANY)
        .execute(
            Map.of(
                "ids",
                ids,
                "attempts",
                attempts,
                "outcomes",
                states,
                "statuses",
                statuses,
                "errors",
                errors,
                "backoffs",
                backoffs))
        .map(rows -> Collections.nCopies(n, null));
  }
}
