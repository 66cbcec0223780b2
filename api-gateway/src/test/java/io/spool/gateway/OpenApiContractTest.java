package io.spool.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spool.config.SpoolConfig.Auth;
import io.spool.config.SpoolConfig.Limits;
import io.spool.ops.OpsEndpoints;
import io.spool.signal.Keys;
import io.spool.testing.OpenApiForValidator;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Route;
import io.vertx.openapi.contract.OpenAPIContract;
import io.vertx.openapi.contract.Operation;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * openapi.json is a valid OpenAPI 3.1 description, and describes exactly the routes the gateway
 * has.
 */
class OpenApiContractTest {
  /**
   * Routes with no fixed path to describe (the dashboard's static assets), and HEAD beside GET on
   * the page.
   */
  private static final Set<String> UNDESCRIBED =
      Set.of("GET /dashboard/", "HEAD /dashboard/", "HEAD /");

  static Vertx vertx;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
  }

  static JsonObject document() throws IOException {
    try (InputStream in = OpenApiContractTest.class.getResourceAsStream(OpenApiDocument.RESOURCE)) {
      return OpenApiForValidator.document(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }
  }

  @Test
  void theDocumentIsValidOpenApi31() throws Exception {
    JsonObject document = document();
    assertEquals("3.1.0", document.getString("openapi"));
    assertTrue(document.encode().length() > 5000);
    // vertx-openapi validates the document against the OpenAPI 3.1 schema and resolves every $ref.
    OpenAPIContract contract = OpenAPIContract.from(vertx, document).await();
    assertTrue(contract.operations().size() >= 15, "operations: " + contract.operations().size());
  }

  @Test
  void everyRouteIsDescribedAndEveryDescribedOperationIsARoute() throws Exception {
    OpenAPIContract contract = OpenAPIContract.from(vertx, document()).await();
    var described = new TreeSet<String>();
    for (Operation operation : contract.operations()) {
      described.add(operation.getHttpMethod() + " " + operation.getOpenAPIPath());
    }
    // The real route table, with inert handlers: only its shape is read here.
    var router =
        ApiRoutes.router(
            vertx,
            ApiKeys.load(new Auth(List.of(), null, true)),
            ApiKeys.load(new Auth(List.of(), null, true)),
            new RateLimiter(null, new Keys("t"), new Limits(1, 0, 1)),
            new SubmissionHandler(null, null, null, null),
            new JobQueryHandler(null, null, null),
            new JobControlHandler(null, null, null, null),
            new JobStreams(vertx, null, null, null),
            new QueuesHandler(null),
            new WorkerProtocol(
                null,
                null,
                null,
                null,
                null,
                null,
                null,
                io.spool.config.SpoolConfig.fromEnv(java.util.Map.of())),
            new OpsEndpoints(null, null, null, null));
    var routed = new TreeSet<String>();
    for (Route route : router.getRoutes()) {
      if (route.getPath() == null || route.methods() == null || route.methods().isEmpty()) {
        continue; // handlers for every method of a prefix (auth, rate limit) and the failure
        // handler
      }
      route
          .methods()
          .forEach(
              method -> routed.add(method + " " + route.getPath().replaceAll(":(\\w+)", "{$1}")));
    }
    routed.removeAll(UNDESCRIBED);
    assertEquals(routed, described, "the routes (expected) and openapi.json (actual) differ");
  }
}
