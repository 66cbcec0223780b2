package io.spool.worker;

import io.spool.net.DestinationRules;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SocketAddress;
import java.net.InetSocketAddress;
import java.net.URI;

/** Requests to URLs that users gave (webhooks, {@code http} jobs), made the SSRF rules' way. */
public final class PinnedRequests {
  private PinnedRequests() {}

  /**
   * Options for a request to {@code url}: its host resolved (off the event loop) and every address
   * it resolves to checked against {@code rules}, then pinned to the checked address, so a second
   * DNS answer cannot point elsewhere; redirects are not followed, since a redirect could name an
   * address the rules forbid. Fails with {@link DestinationRules.RefusedDestination} when refused.
   */
  public static Future<RequestOptions> to(Vertx vertx, DestinationRules rules, String url) {
    URI uri = URI.create(url);
    return rules
        .resolve(vertx, uri.getHost())
        .map(
            addresses -> {
              boolean https = uri.getScheme().equalsIgnoreCase("https");
              int port = uri.getPort() != -1 ? uri.getPort() : https ? 443 : 80;
              return new RequestOptions()
                  .setAbsoluteURI(url)
                  .setServer(
                      SocketAddress.inetSocketAddress(
                          new InetSocketAddress(addresses.get(0), port)))
                  .setFollowRedirects(false);
            });
  }
}
