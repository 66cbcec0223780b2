package io.spool.gateway;

import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.StaticHandler;

/**
 * The dashboard: {@code GET /} and the files under {@code /dashboard/}, served from the classpath
 * folder {@code dashboard/} as they are (no build step). They need no API key: the page holds no
 * data; it asks the user for a key and reads everything from {@code /v1} with it.
 */
final class DashboardRoutes {
  /** Classpath folder of index.html, dashboard.js and dashboard.css. */
  static final String WEB_ROOT = "dashboard";

  /**
   * Only the page's own files run; data comes from the same origin over HTTP and WebSocket (the
   * {@code ws:}/{@code wss:} schemes, which older browsers do not count as 'self'). No inline
   * script or style, no plugins, no framing by other sites, no base-URI or form tricks.
   */
  static final String CONTENT_SECURITY_POLICY =
      "default-src 'self'; script-src 'self'; style-src 'self'; "
          + "img-src 'self' data:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; "
          + "form-action 'self'; frame-ancestors 'none'";

  private DashboardRoutes() {}

  static void install(Router router) {
    // Cache-Control is set before the StaticHandler, which adds its own only when there is none.
    StaticHandler files =
        StaticHandler.create(WEB_ROOT).setIncludeHidden(false).setDirectoryListing(false);
    router
        .route("/")
        .method(HttpMethod.GET)
        .method(HttpMethod.HEAD)
        .handler(DashboardRoutes::headers)
        .handler(ctx -> ctx.reroute("/dashboard/index.html"));
    router
        .route("/dashboard/*")
        .method(HttpMethod.GET)
        .method(HttpMethod.HEAD)
        .handler(DashboardRoutes::headers)
        .handler(files);
  }

  private static void headers(RoutingContext ctx) {
    ctx.response()
        .headers()
        .set("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        .set("X-Content-Type-Options", "nosniff")
        .set("Referrer-Policy", "no-referrer")
        // The file names carry no version, so a browser may keep a copy but must ask whether it is
        // still current (a cheap 304 on Last-Modified); an upgraded gateway's page is never stale.
        .set("Cache-Control", "no-cache");
    ctx.next();
  }
}
