package io.spool.gateway;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.spool.model.Job;
import io.spool.model.JobJson;
import io.vertx.ext.web.RoutingContext;
import java.util.List;

/** How the job routes answer: a job, or a list of jobs, as JSON. */
final class JobAnswers {
  private JobAnswers() {}

  static void sendJson(RoutingContext ctx, int status, Object body) {
    ctx.response()
        .setStatusCode(status)
        .putHeader("Content-Type", "application/json")
        .end(JobJson.encode(body));
  }

  /** {@code {"jobs": [...]}}. */
  static ObjectNode jobsBody(List<Job> jobs) {
    var body = JobJson.MAPPER.createObjectNode();
    var list = body.putArray("jobs");
    jobs.forEach(job -> list.add(JobJson.MAPPER.valueToTree(job)));
    return body;
  }
}
