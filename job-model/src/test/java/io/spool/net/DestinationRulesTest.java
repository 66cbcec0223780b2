package io.spool.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class DestinationRulesTest {
  private final DestinationRules rules =
      new DestinationRules(
          List.of("127.0.0.1", "*.internal.example", "Hooks.Local"), "SPOOL_WEBHOOK_ALLOWED_HOSTS");

  @ParameterizedTest
  @CsvSource({
    "127.0.0.1, loopback",
    "127.255.0.9, loopback",
    "::1, loopback",
    "10.1.2.3, private",
    "172.16.0.1, private",
    "172.31.255.255, private",
    "192.168.1.1, private",
    "169.254.169.254, link-local (cloud metadata)",
    "fe80::1, link-local (cloud metadata)",
    "0.0.0.0, unspecified",
    "::, unspecified",
    "0.1.2.3, reserved",
    "240.0.0.1, reserved",
    "255.255.255.255, reserved",
    "192.0.0.192, reserved",
    "198.18.0.1, reserved",
    "100.64.0.1, shared (carrier-grade NAT)",
    "100.100.100.200, shared (carrier-grade NAT)",
    "224.0.0.1, multicast",
    "ff02::1, multicast",
    "fd00:ec2::254, unique-local (private)",
    "fc00::1, unique-local (private)",
    "::ffff:127.0.0.1, loopback",
    "::ffff:10.0.0.1, private",
    "::127.0.0.1, loopback",
    "64:ff9b::a9fe:a9fe, link-local (cloud metadata)",
    "2002:0a00:0001::1, private"
  })
  void forbiddenAddressesAreNamed(String address, String kind) throws Exception {
    assertEquals(kind, DestinationRules.forbiddenKind(InetAddress.getByName(address)));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "93.184.216.34",
        "8.8.8.8",
        "172.32.0.1",
        "100.128.0.1",
        "2606:2800:220:1::1",
        "2002:5db8:d822::1"
      })
  void publicAddressesAreAllowed(String address) throws Exception {
    assertNull(DestinationRules.forbiddenKind(InetAddress.getByName(address)));
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "ftp://example.com/x | must be an http or https URL",
        "file:///etc/passwd | must be an http or https URL",
        "javascript:alert(1) | must be an http or https URL",
        "example.com/hook | must be an http or https URL",
        "http:///nohost | must name a host",
        "http://exa mple.com/ | must be an absolute http or https URL",
        "https://user:pw@example.com/ | must not contain credentials",
        "http://localhost:8080/ | destination localhost is a loopback address; list the host in SPOOL_WEBHOOK_ALLOWED_HOSTS",
        "http://api.localhost/ | loopback",
        "http://127.0.0.2/ | destination 127.0.0.2 is a loopback address",
        "http://[::1]:9000/ | loopback",
        "http://169.254.169.254/latest/meta-data/ | link-local (cloud metadata)",
        "http://10.0.0.8/ | private",
        "HTTP://192.168.0.1/ | private"
      })
  void badUrlsAreRefusedWithAReason(String url, String reason) {
    String problem = rules.checkUrl(url);
    assertTrue(problem != null && problem.contains(reason), url + " -> " + problem);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "https://example.com/hook",
        "http://127.0.0.1:9999/in",
        "http://a.internal.example/x",
        "http://hooks.local./x",
        "https://93.184.216.34/"
      })
  void goodOrAllowedUrlsPass(String url) {
    assertNull(rules.checkUrl(url));
  }

  @ParameterizedTest
  @ValueSource(strings = {"internal.example", "a.internalXexample", "127.0.0.2"})
  void allowListMatchesExactlyOrBelowAWildcard(String host) {
    assertTrue(!rules.allows(host));
  }

  @org.junit.jupiter.api.Test
  void tooLongUrlsAreRefused() {
    assertTrue(
        rules
            .checkUrl("https://example.com/" + "a".repeat(DestinationRules.MAX_URL_LENGTH))
            .contains("at most"));
  }
}
