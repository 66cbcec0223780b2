package io.spool.net;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Where Spool may send requests on a user's behalf (webhooks, later the {@code http} job type): the
 * SSRF rules. Only http and https; no credentials in the URL; and no destination whose address is
 * loopback, private, link-local (where cloud metadata services live), unique-local, shared,
 * reserved, multicast or unspecified, unless its host is listed as allowed. Checked on the URL at
 * submission and on every address the name resolves to before each request, so a public name
 * pointing at a private address is refused too.
 */
public final class DestinationRules {
  /** Longest accepted URL. */
  public static final int MAX_URL_LENGTH = 2048;

  private final Set<String> allowedHosts;
  private final String allowSetting;

  /**
   * @param allowedHosts host names or IP literals exempt from the address rules; {@code
   *     *.example.org} allows every name below example.org
   * @param allowSetting the setting that lists them, named in refusals so people know what to
   *     change
   */
  public DestinationRules(List<String> allowedHosts, String allowSetting) {
    this.allowedHosts =
        allowedHosts.stream()
            .map(DestinationRules::normalHost)
            .collect(Collectors.toUnmodifiableSet());
    this.allowSetting = allowSetting;
  }

  /** Thrown (as a failed future) when a destination is refused; its message says why. */
  public static final class RefusedDestination extends RuntimeException {
    private final boolean mayChange;

    RefusedDestination(String message, boolean mayChange) {
      super(message, null, false, false);
      this.mayChange = mayChange;
    }

    /** Whether asking again later may succeed (the name did not resolve, perhaps for a moment). */
    public boolean mayChange() {
      return mayChange;
    }
  }

  /**
   * What is wrong with {@code url} without looking anything up, or null if nothing: its shape, and
   * its host when that is an IP literal or a name that is loopback by definition.
   */
  public String checkUrl(String url) {
    if (url.length() > MAX_URL_LENGTH) {
      return "must be at most " + MAX_URL_LENGTH + " characters";
    }
    URI uri;
    try {
      uri = new URI(url);
    } catch (java.net.URISyntaxException e) {
      return "must be an absolute http or https URL";
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      return "must be an http or https URL";
    }
    if (uri.getHost() == null) {
      return "must name a host, like https://example.com/hook";
    }
    if (uri.getRawUserInfo() != null) {
      return "must not contain credentials (user:password@)";
    }
    String host = normalHost(uri.getHost());
    if (allows(host)) {
      return null;
    }
    if (host.equals("localhost") || host.endsWith(".localhost")) {
      return refusal(host, "loopback");
    }
    if (isIpLiteral(host)) {
      try {
        String kind = forbiddenKind(InetAddress.getByName(host));
        return kind == null ? null : refusal(host, kind);
      } catch (UnknownHostException e) {
        return "has an invalid IP address";
      }
    }
    return null;
  }

  /** Whether {@code host} is listed as allowed (exactly, or below a {@code *.} entry). */
  public boolean allows(String host) {
    String h = normalHost(host);
    if (allowedHosts.contains(h)) {
      return true;
    }
    for (int dot = h.indexOf('.'); dot >= 0; dot = h.indexOf('.', dot + 1)) {
      if (allowedHosts.contains("*" + h.substring(dot))) {
        return true;
      }
    }
    return false;
  }

  /**
   * Resolves {@code host} (off the event loop) and answers its addresses, or fails with {@link
   * RefusedDestination} if it does not resolve or any address is forbidden and the host is not
   * allowed. Connect to one of the answered addresses, not to the name again, so a second DNS
   * answer cannot point elsewhere.
   */
  public Future<List<InetAddress>> resolve(Vertx vertx, String host) {
    String h = normalHost(host);
    return vertx.executeBlocking(
        () -> {
          List<InetAddress> addresses;
          try {
            addresses = List.of(InetAddress.getAllByName(h));
          } catch (UnknownHostException e) {
            throw new RefusedDestination("host " + h + " does not resolve", true);
          }
          if (!allows(h)) {
            for (InetAddress address : addresses) {
              String kind = forbiddenKind(address);
              if (kind != null) {
                throw new RefusedDestination(
                    refusal(h + " (" + address.getHostAddress() + ")", kind), false);
              }
            }
          }
          return addresses;
        },
        false);
  }

  private String refusal(String what, String kind) {
    return "destination "
        + what
        + " is a "
        + kind
        + " address; list the host in "
        + allowSetting
        + " to allow it";
  }

  /** Why Spool must not connect to this address on a user's behalf, or null if it may. */
  public static String forbiddenKind(InetAddress address) {
    if (address.isAnyLocalAddress()) {
      return "unspecified";
    }
    if (address.isLoopbackAddress()) {
      return "loopback";
    }
    if (address.isLinkLocalAddress()) {
      return "link-local (cloud metadata)";
    }
    if (address.isSiteLocalAddress()) {
      return "private";
    }
    if (address.isMulticastAddress()) {
      return "multicast";
    }
    byte[] b = address.getAddress();
    if (address instanceof Inet4Address) {
      int first = b[0] & 0xff;
      int second = b[1] & 0xff;
      if (first == 0 || first >= 240) {
        return "reserved";
      }
      if (first == 100 && (second & 0xc0) == 64) {
        return "shared (carrier-grade NAT)";
      }
      if ((first == 192 && second == 0 && (b[2] & 0xff) == 0)
          || (first == 198 && (second & 0xfe) == 18)) {
        return "reserved";
      }
      return null;
    }
    if (address instanceof Inet6Address v6) {
      if ((b[0] & 0xfe) == 0xfc) {
        return "unique-local (private)";
      }
      // IPv4 carried inside IPv6 (compatible, NAT64 64:ff9b::/96, 6to4 2002::/16) is judged by its
      // IPv4 part.
      boolean nat64 =
          b[0] == 0x00
              && b[1] == 0x64
              && b[2] == (byte) 0xff
              && b[3] == (byte) 0x9b
              && allZero(b, 4, 12);
      if (v6.isIPv4CompatibleAddress() || nat64) {
        return forbiddenKind(v4(b, 12));
      }
      if (b[0] == 0x20 && b[1] == 0x02) {
        return forbiddenKind(v4(b, 2));
      }
    }
    return null;
  }

  private static boolean allZero(byte[] b, int from, int to) {
    for (int i = from; i < to; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    return true;
  }

  private static InetAddress v4(byte[] b, int at) {
    try {
      return InetAddress.getByAddress(new byte[] {b[at], b[at + 1], b[at + 2], b[at + 3]});
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  private static boolean isIpLiteral(String host) {
    return host.indexOf(':') >= 0 || host.matches("[0-9.]+");
  }

  /** Lower case, no IPv6 brackets, no trailing dot. */
  private static String normalHost(String host) {
    String h = host.toLowerCase(Locale.ROOT);
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    }
    return h.endsWith(".") ? h.substring(0, h.length() - 1) : h;
  }
}
