package io.spool.client;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.UUID;

/**
 * Spool's HTTP API for Java applications. Every call returns a Vert.x {@link Future}: chain it on
 * an event loop, or {@code .await()} it on a plain or virtual thread. An error answer fails the
 * future with a {@link SpoolException}; a network failure with Vert.x's own exception.
 *
 * <p>One client is meant to be shared: it holds a pool of HTTP connections and opens a WebSocket
 * per {@link #follow followed} job. {@link #close()} it when done.
 */
public final class SpoolClient {
  private static final int CONNECT_TIMEOUT_MILLIS = 10_000;

  /** Longer than the longest long-poll (60 s), during which the gateway sends nothing. */
  private static final long IDLE_TIMEOUT_MILLIS = 90_000;

  /** The gateway's longest long-poll; {@link #waitFor} asks again after each. */
  static final int MAX_WAIT_SECS = 60;

  /** Pause before asking again after the gateway was unreachable or unavailable while waiting. */
  private static final long WAIT_RETRY_MILLIS = 500;

  private static final CharSequence APPLICATION_JSON =
      HttpHeaders.createOptimized("application/json");
  private static final CharSequence REPLAYED = HttpHeaders.createOptimized("Idempotent-Replayed");

  private final Vertx vertx;
  private final boolean ownsVertx;
  private final String host;
  private final int port;
  private final boolean ssl;

  /** Path the API sits under, e.g. {@code /spool} behind a proxy; empty for the root. */
  private final String basePath;

  /** {@code Bearer <key>}, or null. */
  private final CharSequence authorization;

  // Both clients are fields for the client's whole life: Vert.x closes a client nobody references.
  private final HttpClientAgent http;
  private final WebSocketClient sockets;

  private SpoolClient(Builder builder) {
    URI uri = URI.create(builder.baseUrl);
    String scheme = Objects.requireNonNullElse(uri.getScheme(), "");
    if (!(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null) {
      throw new IllegalArgumentException(
          "base URL must be http(s)://host[:port][/path], not " + builder.baseUrl);
    }
    this.ssl = scheme.equals("https");
    this.host = uri.getHost();
    this.port = uri.getPort() > 0 ? uri.getPort() : ssl ? 443 : 80;
    String path = Objects.requireNonNullElse(uri.getRawPath(), "");
    this.basePath = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    this.authorization =
        builder.apiKey == null ? null : HttpHeaders.createOptimized("Bearer " + builder.apiKey);
    this.ownsVertx = builder.vertx == null;
    this.vertx = ownsVertx ? Vertx.vertx() : builder.vertx;
    this.http =
        vertx.createHttpClient(
            new HttpClientOptions()
                .setDefaultHost(host)
                .setDefaultPort(port)
                .setSsl(ssl)
                .setKeepAlive(true)
                .setTcpNoDelay(true)
                .setConnectTimeout(CONNECT_TIMEOUT_MILLIS),
            new PoolOptions().setHttp1MaxSize(builder.maxConnections));
    // Each followed job holds a socket of its own; the application decides how many it follows.
    this.sockets =
        vertx.createWebSocketClient(
            new WebSocketClientOptions()
                .setMaxConnections(Integer.MAX_VALUE)
                // The gateway pings every 15 s: a socket silent for 45 s is dead, and following
                // resumes elsewhere.
                .setIdleTimeout(45)
                .setSsl(ssl)
                .setTcpNoDelay(true));
  }

  /** A client of the gateway at {@code baseUrl}, e.g. {@code http://localhost:8080}. */
  public static Builder builder(String baseUrl) {
    return new Builder(baseUrl);
  }

  public static SpoolClient create(String baseUrl) {
    return builder(baseUrl).build();
  }

  public static final class Builder {
    private final String baseUrl;
    private String apiKey;
    private Vertx vertx;
    private int maxConnections = 16;

    private Builder(String baseUrl) {
      this.baseUrl = Objects.requireNonNull(baseUrl, "baseUrl");
    }

    /** Sent as {@code Authorization: Bearer <key>} on every request; none by default. */
    public Builder apiKey(String apiKey) {
      this.apiKey = apiKey;
      return this;
    }

    /**
     * The Vert.x instance to run on; by default the client makes its own and closes it on {@link
     * #close()}.
     */
    public Builder vertx(Vertx vertx) {
      this.vertx = vertx;
      return this;
    }

    /**
     * HTTP connections kept to the gateway, so requests in flight at once (default 16); more wait.
     */
    public Builder maxConnections(int maxConnections) {
      if (maxConnections < 1) {
        throw new IllegalArgumentException("maxConnections must be at least 1");
      }
      this.maxConnections = maxConnections;
      return this;
    }

    public SpoolClient build() {
      return new SpoolClient(this);
    }
  }

  /** Submits a job: the job as committed, and whether an idempotency key made it earlier. */
  public Future<Submission> submit(JobRequest request) {
    return send(HttpMethod.POST, "/v1/jobs", request.json())
        .map(
            answer ->
                new Submission(answer.decode(Job.class), answer.headers().contains(REPLAYED)));
  }

  /**
   * Submits 1 to 1,000 jobs in one commit: all are accepted, in order, or none (a {@link
   * SpoolException}).
   */
  public Future<List<Job>> submitBatch(List<JobRequest> requests) {
    var body = new StringBuilder(requests.size() * 64).append("{\"jobs\":[");
    for (int i = 0; i < requests.size(); i++) {
      body.append(i == 0 ? "" : ",").append(requests.get(i).json());
    }
    return send(HttpMethod.POST, "/v1/jobs/batch", body.append("]}").toString())
        .map(answer -> answer.decode(JobPage.class).jobs());
  }

  /** The job as it is now; a {@link SpoolException} with 404 if it is unknown. */
  public Future<Job> get(UUID id) {
    return send(HttpMethod.GET, "/v1/jobs/" + id, null).map(answer -> answer.decode(Job.class));
  }

  /**
   * Cancels a job: a pending one is cancelled at once; a running one comes back still running with
   * {@link Job#cancelRequested()} and ends cancelled within moments. A finished job is a 409.
   */
  public Future<Job> cancel(UUID id) {
    return send(HttpMethod.POST, "/v1/jobs/" + id + "/cancel", null)
        .map(answer -> answer.decode(Job.class));
  }

  /** One page of your jobs, newest first. */
  public Future<JobPage> list(JobQuery query) {
    return send(HttpMethod.GET, "/v1/jobs" + query.queryString(), null)
        .map(answer -> answer.decode(JobPage.class));
  }

  /**
   * The job once it has finished (completed, failed or cancelled), or as it is when {@code maxWait}
   * has passed (to within a second): check {@code status().isFinished()}. Long-polls the gateway, a
   * minute at a time, and rides out a gateway that is briefly unreachable or unavailable.
   */
  public Future<Job> waitFor(UUID id, Duration maxWait) {
    return poll(id, System.nanoTime() + maxWait.toNanos());
  }

  private Future<Job> poll(UUID id, long deadlineNanos) {
    long leftMillis = Math.max(0, (deadlineNanos - System.nanoTime()) / 1_000_000);
    long waitSecs = Math.min(MAX_WAIT_SECS, (leftMillis + 999) / 1000);
    return send(HttpMethod.GET, "/v1/jobs/" + id + "?wait_secs=" + waitSecs, null)
        .map(answer -> answer.decode(Job.class))
        .compose(
            job ->
                job.status().isFinished() || System.nanoTime() >= deadlineNanos
                    ? Future.succeededFuture(job)
                    : poll(id, deadlineNanos),
            failure -> {
              boolean transientFailure = !(failure instanceof SpoolException e) || e.isTransient();
              if (transientFailure
                  && System.nanoTime() + WAIT_RETRY_MILLIS * 1_000_000 < deadlineNanos) {
                return vertx.timer(WAIT_RETRY_MILLIS).compose(v -> poll(id, deadlineNanos));
              }
              return Future.failedFuture(failure);
            });
  }

  /**
   * Follows a job's events after {@code afterSeq} (0 for all) over a WebSocket: {@code handler}
   * gets each in order, exactly once, up to and including {@code end}, on one Vert.x context. A
   * dropped connection is made again (with backoff) from the last event delivered, so nothing is
   * lost or repeated. {@link JobSubscription#finished()} completes with the final job.
   */
  public JobSubscription follow(UUID id, long afterSeq, Handler<JobEvent> handler) {
    var subscription = new JobSubscription(this, id, afterSeq, handler);
    subscription.start();
    return subscription;
  }

  /**
   * Opens one WebSocket ({@code /v1/ws}) on which to follow several jobs, each with the same
   * promises as {@link #follow}: in order, each once, resumed after a dropped connection.
   */
  public MultiJobSubscription followMany() {
    var subscription = new MultiJobSubscription(this);
    subscription.start();
    return subscription;
  }

  /** Closes the connections, and the Vert.x instance if the client made it. */
  public Future<Void> close() {
    if (ownsVertx) {
      return vertx.close();
    }
    return Future.join(http.close(), sockets.close()).mapEmpty();
  }

  Vertx vertx() {
    return vertx;
  }

  WebSocketClient sockets() {
    return sockets;
  }

  /** Where a WebSocket at {@code path} (with its query) connects, authorized like every request. */
  WebSocketConnectOptions webSocketOptions(String path) {
    var options =
        new WebSocketConnectOptions()
            .setHost(host)
            .setPort(port)
            .setSsl(ssl)
            .setURI(basePath + path);
    if (authorization != null) {
      options.putHeader(HttpHeaders.AUTHORIZATION, authorization);
    }
    return options;
  }

  /** A 2xx answer. */
  private record Answer(MultiMap headers, Buffer body) {
    <T> T decode(Class<T> type) {
      return ClientJson.decode(body, type);
    }
  }

  /** Sends a request; a non-2xx answer fails with a {@link SpoolException}. */
  private Future<Answer> send(HttpMethod method, String path, String json) {
    return http.request(method, basePath + path)
        .compose(
            request -> {
              // A gateway that goes silent fails the call instead of holding it (and a pooled
              // connection) forever.
              request.idleTimeout(IDLE_TIMEOUT_MILLIS);
              if (authorization != null) {
                request.putHeader(HttpHeaders.AUTHORIZATION, authorization);
              }
              // The body is asked for by a callback on the response itself, set before the request
              // goes out.
              // Vert.x 5.0.10 loses the end of a response that ended before body() was called, and
              // the body
              // future then never completes (vert.x#6038, fixed in 5.0.11): a callback chained
              // after
              // request.send() on the outer future could run that late.
              Future<Answer> answer = request.response().compose(SpoolClient::answer);
              Future<Void> sent;
              if (json == null) {
                sent = request.end();
              } else {
                request.putHeader(HttpHeaders.CONTENT_TYPE, APPLICATION_JSON);
                sent = request.end(json);
              }
              return sent.compose(v -> answer);
            });
  }

  /** A 2xx response's headers and body; any other fails with a {@link SpoolException}. */
  private static Future<Answer> answer(HttpClientResponse response) {
    return response
        .body()
        .compose(
            body -> {
              int status = response.statusCode();
              return status >= 200 && status < 300
                  ? Future.succeededFuture(new Answer(response.headers(), body))
                  : Future.failedFuture(
                      SpoolException.of(
                          status,
                          response.statusMessage(),
                          response.getHeader(HttpHeaders.CONTENT_TYPE),
                          body));
            });
  }
}
