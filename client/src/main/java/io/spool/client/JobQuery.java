package io.spool.client;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/**
 * Which of your jobs {@link SpoolClient#list} returns. Start from {@link #all()}; every field left
 * null is the gateway's default.
 *
 * @param status only jobs in this state, or null for all
 * @param type only jobs of this type, or null for all
 * @param limit jobs per page, 1 to 500; null for the gateway's default (50)
 * @param cursor the {@link JobPage#nextCursor} of the previous page, or null for the first
 */
public record JobQuery(Job.Status status, String type, Integer limit, String cursor) {
  public static JobQuery all() {
    return new JobQuery(null, null, null, null);
  }

  public JobQuery status(Job.Status status) {
    return new JobQuery(status, type, limit, cursor);
  }

  public JobQuery type(String type) {
    return new JobQuery(status, type, limit, cursor);
  }

  public JobQuery limit(int limit) {
    return new JobQuery(status, type, limit, cursor);
  }

  public JobQuery after(String cursor) {
    return new JobQuery(status, type, limit, cursor);
  }

  String queryString() {
    var query = new StringBuilder();
    append(query, "status", status == null ? null : status.wire());
    append(query, "type", type);
    append(query, "limit", limit == null ? null : limit.toString());
    append(query, "cursor", cursor);
    return query.toString();
  }

  private static void append(StringBuilder query, String name, String value) {
    if (value != null) {
      query
          .append(query.isEmpty() ? '?' : '&')
          .append(name)
          .append('=')
          .append(URLEncoder.encode(value, StandardCharsets.UTF_8));
    }
  }
}
