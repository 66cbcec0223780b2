package io.spool.gateway;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import io.spool.model.JobIds;
import io.spool.model.JobJson;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.util.List;
import java.util.UUID;

/**
 * What a request carries, read strictly: its JSON body, the job id in its path, single-valued query
 * parameters and headers. Each bad part is a 400 that says what to send.
 */
final class RequestParts {
  /** A field given twice is an error, not "the last one wins": a typo must not pass silently. */
  private static final ObjectReader STRICT_READER =
      JobJson.MAPPER.reader().with(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

  /** The request's JSON body; 400 if it is missing or not JSON. */
  static JsonNode jsonBody(RoutingContext ctx) {
    var body = ctx.body().buffer();
    if (body == null || body.length() == 0) {
      throw Problem.badRequest("the request has no body; send a JSON object").exception();
    }
    try {
      return STRICT_READER.readTree(body.getBytes());
    } catch (JacksonException e) {
      throw Problem.badRequest("the body is not valid JSON: " + e.getOriginalMessage()).exception();
    } catch (IOException e) {
      throw Problem.badRequest("the body could not be read as JSON").exception();
    }
  }

  private RequestParts() {}

  static UUID pathId(RoutingContext ctx) {
    String text = ctx.pathParam("id");
    return JobIds.parse(text)
        .orElseThrow(
            () ->
                Problem.badRequest(
                        "'"
                            + Problem.printable(text)
                            + "' is not a job id (a UUID like 01890a5d-ac96-774b-bcce-b302099a8057)")
                    .exception());
  }

  /** A query parameter that may appear at most once; empty counts as absent. */
  static String query(RoutingContext ctx, String name) {
    List<String> values = ctx.queryParam(name);
    if (values.size() > 1) {
      throw Problem.badRequest("query parameter '" + name + "' is given more than once")
          .exception();
    }
    return values.isEmpty() || values.get(0).isEmpty() ? null : values.get(0);
  }

  /** A header that may appear at most once; two copies are a 400. */
  static String singleHeader(RoutingContext ctx, String name) {
    List<String> values = ctx.request().headers().getAll(name);
    if (values.size() > 1) {
      throw Problem.badRequest(name + " is given " + values.size() + " times; send it once")
          .exception();
    }
    return values.isEmpty() ? null : values.get(0);
  }
}
