package io.spool.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeType;
import io.spool.gateway.Problem.FieldError;
import io.spool.model.JobIds;
import io.spool.model.JobJson;
import io.spool.model.Names;
import io.spool.model.SpoolConfig;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Checks a submission field by field and turns it into a {@link NewJob}, or lists everything wrong
 * with it. Unknown fields are errors, so a typo never passes silently.
 */
final class SubmissionParser {
  static final Set<String> FIELDS = Set.of("type", "request", "queue", "max_attempts");
  /** Most jobs one batch request may carry. */
  static final int MAX_BATCH = 1000;

  private final int defaultMaxAttempts;

  SubmissionParser(SpoolConfig config) {
    this.defaultMaxAttempts = config.maxAttempts();
  }

  /** Parses one job object; problems go to {@code errors} with {@code path} before each field name. */
  NewJob parse(JsonNode body, String path, String userId, List<FieldError> errors) {
    if (body == null || !body.isObject()) {
      errors.add(new FieldError(path.isEmpty() ? "(body)" : path, "must be a JSON object"));
      return null;
    }
    int before = errors.size();
    for (Iterator<String> names = body.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!FIELDS.contains(name)) {
        errors.add(new FieldError(at(path, name), "unknown field; allowed: " + String.join(", ", FIELDS.stream().sorted().toList())));
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
    }
    int maxAttempts = defaultMaxAttempts;
    JsonNode attempts = body.get("max_attempts");
    if (attempts != null && !attempts.isNull()) {
      if (!attempts.isIntegralNumber() || !attempts.canConvertToInt()
          || attempts.asInt() < 1 || attempts.asInt() > SpoolConfig.MAX_ATTEMPTS_LIMIT) {
        errors.add(new FieldError(at(path, "max_attempts"), "must be a whole number from 1 to " + SpoolConfig.MAX_ATTEMPTS_LIMIT));
      } else {
        maxAttempts = attempts.asInt();
      }
    }
    if (errors.size() > before) {
      return null;
    }
    return new NewJob(JobIds.next(), type, queue, userId, request, maxAttempts);
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

  private static String text(JsonNode body, String path, String field, boolean required, List<FieldError> errors) {
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
