package io.spool.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeType;
import io.spool.config.SpoolConfig;
import io.spool.gateway.Problem.FieldError;
import io.spool.model.JobIds;
import io.spool.model.JobJson;
import io.spool.model.Names;
import io.spool.model.NewJob;
import io.spool.net.DestinationRules;
import io.spool.net.DestinationRules.RefusedDestination;
import io.spool.net.HttpCall;
import io.spool.net.LlmCall;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.URI;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Checks a submission field by field and turns it into a {@link NewJob}, or lists everything wrong
 * with it. Unknown fields are errors, so a typo never passes silently.
 */
final class SubmissionParser {
  static final Set<String> FIELDS =
      Set.of(
          "type",
          "request",
          "queue",
          "max_attempts",
          "priority",
          "run_at",
          "delay_secs",
          "timeout_secs",
          "callback_url",
          "idempotency_key",
          "concurrency_key",
          "concurrency_strategy",
          "retention_secs");

  /** Longest accepted idempotency key. */
  static final int MAX_KEY_LENGTH = 255;

  static final int MAX_PRIORITY = 1000;
  static final int MAX_DELAY_SECS = 365 * 24 * 3600;

  /** Most jobs one batch request may carry. */
  static final int MAX_BATCH = 1000;

  private final int defaultMaxAttempts;
  private final int defaultTimeoutSecs;

  /** The most a job's own retention_secs may be; 0: no cap, and 0 (forever) allowed. */
  private final int maxRetentionSecs;

  private final DestinationRules webhookDestinations;
  private final DestinationRules httpDestinations;

  SubmissionParser(SpoolConfig config) {
    this.defaultMaxAttempts = config.jobs().maxAttempts();
    this.defaultTimeoutSecs = (int) config.jobs().timeout().toSeconds();
    this.maxRetentionSecs = (int) config.retention().jobMax().toSeconds();
    this.webhookDestinations = config.webhooks().destinations();
    this.httpDestinations = config.httpJobs().destinations();
  }

  /**
   * Parses one job object; problems go to {@code errors} with {@code path} before each field name.
   */
  NewJob parse(JsonNode body, String path, String userId, List<FieldError> errors) {
    return parse(body, path, userId, null, errors);
  }

  /**
   * Parses one job object, with the {@code Idempotency-Key} header's value if the request had one
   * (it must agree with an {@code idempotency_key} in the body).
   */
  NewJob parse(
      JsonNode body, String path, String userId, String headerKey, List<FieldError> errors) {
    if (body == null || !body.isObject()) {
      errors.add(new FieldError(path.isEmpty() ? "(body)" : path, "must be a JSON object"));
      return null;
    }
    int before = errors.size();
    for (Iterator<String> names = body.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!FIELDS.contains(name)) {
        errors.add(
            new FieldError(
                at(path, name),
                "unknown field; allowed: " + String.join(", ", FIELDS.stream().sorted().toList())));
      }
    }
    String type = text(body, path, "type", true, errors);
    if (type != null && !Names.JOB_TYPE.matcher(type).matches()) {
      errors.add(new FieldError(at(path, "type"), "must be " + Names.NAME_RULE));
    }
    String queue = text(body, path, "queue", false, errors);
    if (queue == null) {
      queue = Names.DEFAULT_QUEUE;
    } else if (!Names.QUEUE.matcher(queue).matches()) {
      errors.add(new FieldError(at(path, "queue"), "must be " + Names.NAME_RULE));
    }
    JsonNode request = body.get("request");
    if (request == null || request.isNull()) {
      request = JobJson.MAPPER.createObjectNode();
    } else if (!request.isObject()) {
      errors.add(new FieldError(at(path, "request"), "must be a JSON object"));
    } else if (JobJson.containsNul(request)) {
      // Postgres jsonb cannot store U+0000; refuse it here rather than fail the shared insert.
      errors.add(new FieldError(at(path, "request"), "must not contain the character U+0000"));
    } else if (HttpCall.TYPE.equals(type)) {
      HttpCall.parse(
          request,
          httpDestinations,
          (field, message) -> errors.add(new FieldError(at(path, "request." + field), message)));
    } else if (LlmCall.TYPE.equals(type)) {
      LlmCall.check(
          request,
          (field, message) -> errors.add(new FieldError(at(path, "request." + field), message)));
    }
    int maxAttempts =
        whole(
            body,
            path,
            "max_attempts",
            1,
            SpoolConfig.MAX_ATTEMPTS_LIMIT,
            defaultMaxAttempts,
            errors);
    int priority = whole(body, path, "priority", -MAX_PRIORITY, MAX_PRIORITY, 0, errors);
    int timeoutSecs =
        whole(
            body,
            path,
            "timeout_secs",
            1,
            SpoolConfig.MAX_TIMEOUT_SECS,
            defaultTimeoutSecs,
            errors);
    if (HttpCall.TYPE.equals(type)
        && request.path("after_ms").canConvertToLong()
        && request.path("after_ms").asLong() >= timeoutSecs * 1000L) {
      // Every attempt would time out after its request had succeeded.
      errors.add(
          new FieldError(
              at(path, "request.after_ms"),
              "must be shorter than the job's timeout_secs ("
                  + timeoutSecs
                  + " s): the wait counts toward it"));
    }
    Instant runAt = null;
    String runAtText = text(body, path, "run_at", false, errors);
    if (runAtText != null) {
      try {
        runAt = OffsetDateTime.parse(runAtText).toInstant();
      } catch (DateTimeParseException e) {
        errors.add(
            new FieldError(
                at(path, "run_at"), "must be an RFC 3339 time like 2026-01-31T09:30:00Z"));
      }
    }
    if (body.hasNonNull("delay_secs")) {
      int delay = whole(body, path, "delay_secs", 0, MAX_DELAY_SECS, 0, errors);
      if (runAtText != null) {
        errors.add(new FieldError(at(path, "delay_secs"), "give run_at or delay_secs, not both"));
      } else {
        runAt = Instant.now().plusSeconds(delay);
      }
    }
    String callbackUrl = text(body, path, "callback_url", false, errors);
    if (callbackUrl != null) {
      String problem = webhookDestinations.checkUrl(callbackUrl);
      if (problem != null) {
        errors.add(new FieldError(at(path, "callback_url"), problem));
      }
    }
    String key = text(body, path, "idempotency_key", false, errors);
    if (headerKey != null) {
      if (key != null && !key.equals(headerKey)) {
        errors.add(
            new FieldError(
                at(path, "idempotency_key"), "differs from the Idempotency-Key header; send one"));
      }
      key = headerKey;
    }
    if (key != null && !validKey(key)) {
      errors.add(
          new FieldError(
              at(path, "idempotency_key"),
              "must be 1-"
                  + MAX_KEY_LENGTH
                  + " visible ASCII characters (no spaces or control characters)"));
    }
    String concurrencyKey = text(body, path, "concurrency_key", false, errors);
    if (concurrencyKey != null && !validKey(concurrencyKey)) {
      errors.add(
          new FieldError(
              at(path, "concurrency_key"),
              "must be 1-"
                  + MAX_KEY_LENGTH
                  + " visible ASCII characters (no spaces or control characters)"));
    }
    String strategy = text(body, path, "concurrency_strategy", false, errors);
    if (strategy != null && !strategy.equals("enqueue") && !strategy.equals("reject")) {
      errors.add(new FieldError(at(path, "concurrency_strategy"), "must be enqueue or reject"));
    } else if (strategy != null && concurrencyKey == null) {
      errors.add(new FieldError(at(path, "concurrency_strategy"), "needs a concurrency_key"));
    }
    Integer retentionSecs = null;
    if (body.hasNonNull("retention_secs")) {
      // 0 keeps the job forever, which only an uncapped setting allows.
      retentionSecs =
          maxRetentionSecs == 0
              ? whole(body, path, "retention_secs", 0, SpoolConfig.MAX_RETENTION_SECS, 0, errors)
              : whole(body, path, "retention_secs", 1, maxRetentionSecs, 0, errors);
    }
    if (errors.size() > before) {
      return null;
    }
    return new NewJob(
        JobIds.next(),
        type,
        queue,
        userId,
        request,
        maxAttempts,
        priority,
        runAt,
        timeoutSecs,
        callbackUrl,
        key,
        key == null ? null : requestHash(body),
        concurrencyKey,
        "reject".equals(strategy),
        retentionSecs);
  }

  /**
   * A URL of a parsed job that Spool will call: the field it came from, its host, and the rules it
   * obeys.
   */
  private record Destination(String field, String host, DestinationRules rules) {
    /**
     * One lookup serves every destination of a host under the same rules (the allow-lists differ).
     */
    Lookup lookup() {
      return new Lookup(rules, host);
    }
  }

  /** A host to resolve and check under a rule set (compared by identity: one per setting). */
  private record Lookup(DestinationRules rules, String host) {}

  /**
   * The URLs of a job that Spool will call on the user's behalf: its webhook, and an {@code http}
   * job's URL.
   */
  private List<Destination> destinations(NewJob job, String path) {
    var destinations = new ArrayList<Destination>(2);
    if (job.callbackUrl() != null) {
      destinations.add(
          new Destination(
              at(path, "callback_url"),
              URI.create(job.callbackUrl()).getHost(),
              webhookDestinations));
    }
    if (HttpCall.TYPE.equals(job.type()) && job.request().path("url").isTextual()) {
      destinations.add(
          new Destination(
              at(path, "request.url"),
              URI.create(job.request().get("url").asText()).getHost(),
              httpDestinations));
    }
    return destinations;
  }

  /**
   * Resolves the hosts of the URLs that parsed jobs will call (webhooks, {@code http} jobs) and
   * lists those refused: a name that does not resolve, or resolves to an address the SSRF rules
   * forbid. Workers check again before each request.
   */
  Future<List<FieldError>> checkDestinationHosts(Vertx vertx, List<NewJob> jobs, boolean batch) {
    var all = new ArrayList<Destination>();
    for (int i = 0; i < jobs.size(); i++) {
      all.addAll(destinations(jobs.get(i), batch ? "jobs[" + i + "]" : ""));
    }
    Map<Lookup, Future<?>> lookups = new HashMap<>();
    for (Destination destination : all) {
      if (!destination.rules().allows(destination.host())) {
        lookups.computeIfAbsent(
            destination.lookup(), lookup -> lookup.rules().resolve(vertx, lookup.host()));
      }
    }
    if (lookups.isEmpty()) {
      return Future.succeededFuture(List.of());
    }
    return Future.join(List.copyOf(lookups.values()))
        .transform(
            done -> {
              var errors = new ArrayList<FieldError>();
              for (Destination destination : all) {
                Future<?> lookup = lookups.get(destination.lookup());
                if (lookup != null && lookup.failed()) {
                  String why =
                      lookup.cause() instanceof RefusedDestination
                          ? lookup.cause().getMessage()
                          : "its host could not be checked";
                  errors.add(new FieldError(destination.field(), why));
                }
              }
              return Future.succeededFuture(errors);
            });
  }

  /** Parses {@code {"jobs": [ ... ]}} with 1 to {@link #MAX_BATCH} jobs. */
  List<NewJob> parseBatch(JsonNode body, String userId, List<FieldError> errors) {
    if (body == null || !body.isObject()) {
      errors.add(new FieldError("(body)", "must be a JSON object like {\"jobs\": [...]}"));
      return List.of();
    }
    for (Iterator<String> names = body.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!name.equals("jobs")) {
        errors.add(new FieldError(name, "unknown field; allowed: jobs"));
      }
    }
    JsonNode jobs = body.get("jobs");
    if (jobs == null || !jobs.isArray() || jobs.isEmpty() || jobs.size() > MAX_BATCH) {
      errors.add(new FieldError("jobs", "must be an array of 1 to " + MAX_BATCH + " job objects"));
      return List.of();
    }
    var parsed = new ArrayList<NewJob>(jobs.size());
    for (int i = 0; i < jobs.size(); i++) {
      parsed.add(parse(jobs.get(i), "jobs[" + i + "]", userId, errors));
    }
    return parsed;
  }

  static boolean validKey(String key) {
    return !key.isEmpty()
        && key.length() <= MAX_KEY_LENGTH
        && key.chars().allMatch(c -> c > 0x20 && c < 0x7f);
  }

  /**
   * SHA-256 of the submission in a canonical form (object fields sorted, the key itself left out),
   * so the same request sent again matches whatever its field order or spacing.
   */
  static String requestHash(JsonNode body) {
    var canonical = new StringBuilder();
    appendCanonical(body, canonical, true);
    try {
      return java.util.HexFormat.of()
          .formatHex(
              java.security.MessageDigest.getInstance("SHA-256")
                  .digest(canonical.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void appendCanonical(JsonNode node, StringBuilder out, boolean top) {
    if (node.isObject()) {
      var names = new ArrayList<String>();
      node.fieldNames().forEachRemaining(names::add);
      java.util.Collections.sort(names);
      out.append('{');
      boolean first = true;
      for (String name : names) {
        if (top && name.equals("idempotency_key")) {
          continue;
        }
        if (!first) {
          out.append(',');
        }
        first = false;
        out.append(JobJson.encode(name)).append(':');
        appendCanonical(node.get(name), out, false);
      }
      out.append('}');
    } else if (node.isArray()) {
      out.append('[');
      for (int i = 0; i < node.size(); i++) {
        if (i > 0) {
          out.append(',');
        }
        appendCanonical(node.get(i), out, false);
      }
      out.append(']');
    } else {
      out.append(JobJson.encode(node));
    }
  }

  private static int whole(
      JsonNode body,
      String path,
      String field,
      int min,
      int max,
      int fallback,
      List<FieldError> errors) {
    JsonNode value = body.get(field);
    if (value == null || value.isNull()) {
      return fallback;
    }
    if (!value.isIntegralNumber()
        || !value.canConvertToInt()
        || value.asInt() < min
        || value.asInt() > max) {
      errors.add(
          new FieldError(at(path, field), "must be a whole number from " + min + " to " + max));
      return fallback;
    }
    return value.asInt();
  }

  private static String text(
      JsonNode body, String path, String field, boolean required, List<FieldError> errors) {
    JsonNode value = body.get(field);
    if (value == null || value.isNull()) {
      if (required) {
        errors.add(new FieldError(at(path, field), "is required"));
      }
      return null;
    }
    if (value.getNodeType() != JsonNodeType.STRING) {
      errors.add(new FieldError(at(path, field), "must be a string"));
      return null;
    }
    return value.asText();
  }

  private static String at(String path, String field) {
    return path.isEmpty() ? field : path + "." + field;
  }
}
