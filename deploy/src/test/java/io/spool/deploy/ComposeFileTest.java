package io.spool.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** deploy/compose.yaml: Redis, Postgres, a one-shot migration, a gateway and N workers. */
class ComposeFileTest {
  private static final JsonNode COMPOSE = DeployFiles.document("compose.yaml");
  private static final JsonNode SERVICES = COMPOSE.path("services");

  /** ${NAME:-default} or ${NAME-default}: compose's interpolation with a default. */
  private static final Pattern WITH_DEFAULT = Pattern.compile("\\$\\{\\w+:?-([^}]*)}");

  /** Spool's services, and the Dockerfile target each is built from. */
  private static final Map<String, String> SPOOL_SERVICES =
      Map.of("migrate", "gateway", "gateway", "gateway", "worker", "worker");

  private static JsonNode service(String name) {
    JsonNode service = SERVICES.path(name);
    if (!service.isObject()) {
      fail("compose.yaml has no service " + name);
    }
    return service;
  }

  /** A value with compose's ${VAR:-default} resolved to its default (empty if it has none). */
  private static String interpolated(String value) {
    Matcher m = WITH_DEFAULT.matcher(value);
    return m.replaceAll(r -> Matcher.quoteReplacement(r.group(1))).replaceAll("\\$\\{[^}]*}", "");
  }

  /** A Spool setting in a service: its environment, else the README's default. */
  private static String setting(String service, String name) {
    JsonNode environment = service(service).path("environment");
    if (environment.isArray()) { // the KEY=VALUE list form
      for (JsonNode entry : environment) {
        if (entry.asText().startsWith(name + "=")) {
          return interpolated(entry.asText().substring(name.length() + 1));
        }
      }
    } else if (environment.has(name)) {
      return interpolated(environment.path(name).asText());
    }
    return DeployFiles.readmeDefault(name);
  }

  @Test
  void migrationsRunOnceBeforeGatewayAndWorkersStart() {
    JsonNode migrate = service("migrate");
    assertEquals(
        List.of("migrate"), strings(migrate.path("command")), "the migrate service's command");
    assertEquals(
        "no", migrate.path("restart").asText("no"), "a one-shot migration must not be restarted");
    assertEquals(
        "service_healthy",
        migrate.path("depends_on").path("postgres").path("condition").asText(),
        "migrate should wait for a healthy Postgres");
    for (String name : List.of("gateway", "worker")) {
      JsonNode dependsOn = service(name).path("depends_on");
      assertEquals(
          "service_completed_successfully",
          dependsOn.path("migrate").path("condition").asText(),
          name + " should start only after migrate succeeded");
      assertEquals(
          "service_healthy",
          dependsOn.path("postgres").path("condition").asText(),
          name + " waits for Postgres");
      assertEquals(
          "service_healthy",
          dependsOn.path("redis").path("condition").asText(),
          name + " waits for Redis");
    }
  }

  @Test
  void everyLongRunningServiceHasAHealthcheckOnItsRealEndpoint() {
    for (String name : List.of("redis", "postgres", "gateway", "worker")) {
      assertTrue(
          service(name).path("healthcheck").path("test").isArray(), name + " needs a healthcheck");
    }
    Map.of("gateway", "SPOOL_HTTP_PORT", "worker", "SPOOL_METRICS_PORT")
        .forEach(
            (name, portSetting) -> {
              String url = "http://127.0.0.1:" + setting(name, portSetting) + "/health/ready";
              List<String> test = strings(service(name).path("healthcheck").path("test"));
              assertTrue(
                  test.contains(url), name + "'s healthcheck should ask " + url + ": " + test);
            });
  }

  @Test
  void workersOutwaitTheirShutdownGraceAndAreReplicated() {
    Duration grace =
        Duration.ofSeconds(Long.parseLong(setting("worker", "SPOOL_SHUTDOWN_GRACE_SECS")));
    Duration stop =
        Sizes.composeDuration(service("worker").path("stop_grace_period").asText("10s"));
    assertTrue(
        stop.compareTo(grace.plusSeconds(10)) >= 0,
        "worker stop_grace_period "
            + stop
            + " should exceed "
            + "SPOOL_SHUTDOWN_GRACE_SECS ("
            + grace
            + ") by 10 s or more, time to hand back unfinished jobs and exit");
    int replicas =
        Integer.parseInt(
            interpolated(service("worker").path("deploy").path("replicas").asText("1")));
    assertTrue(replicas >= 2, "workers should default to two or more replicas, not " + replicas);
  }

  @Test
  void spoolServicesAreBuiltFromTheDockerfileTargets() {
    SPOOL_SERVICES.forEach(
        (name, target) -> {
          JsonNode build = service(name).path("build");
          Path context = DeployFiles.DEPLOY.resolve(build.path("context").asText(".")).normalize();
          assertEquals(
              DeployFiles.ROOT, context, name + " should build with the repository as context");
          assertEquals(
              DeployFiles.DEPLOY.resolve("Dockerfile"),
              context.resolve(build.path("dockerfile").asText()),
              name + "'s Dockerfile");
          assertEquals(target, build.path("target").asText(), name + "'s Dockerfile target");
          assertTrue(
              service(name).path("image").asText().startsWith("spool-" + target + ":"),
              name + "'s image name");
        });
  }

  @Test
  void memoryLimitsLeaveRoomBesideTheHeap() {
    double heapShare = DockerfileTest.maxRamPercentage() / 100;
    SPOOL_SERVICES
        .keySet()
        .forEach(
            name -> {
              String limit =
                  service(name)
                      .path("deploy")
                      .path("resources")
                      .path("limits")
                      .path("memory")
                      .asText(null);
              assertTrue(
                  limit != null, name + " needs a memory limit: the JVM sizes its heap from it");
              long bytes = Sizes.composeBytes(limit);
              assertTrue(
                  bytes * (1 - heapShare) >= Sizes.NON_HEAP_HEADROOM,
                  name
                      + "'s limit "
                      + limit
                      + " leaves under "
                      + Sizes.NON_HEAP_HEADROOM / Sizes.MIB
                      + " MiB beside a "
                      + (int) (heapShare * 100)
                      + " % heap");
            });
  }

  @Test
  void noPasswordOrKeyIsWrittenDown() {
    assertTrue(
        service("postgres")
            .path("environment")
            .path("POSTGRES_PASSWORD")
            .asText()
            .startsWith("${POSTGRES_PASSWORD:?"),
        "Postgres's password should come from deploy/.env, required");
    assertTrue(
        service("gateway")
            .path("environment")
            .path("SPOOL_PG_URL")
            .asText()
            .contains("${POSTGRES_PASSWORD:?"),
        "SPOOL_PG_URL should take the password from deploy/.env");
    assertEquals(
        "/run/secrets/spool_api_keys",
        service("gateway").path("environment").path("SPOOL_API_KEYS_FILE").asText(),
        "the gateway's API keys come from the compose secret");
    assertFalse(
        service("gateway").path("environment").has("SPOOL_API_KEYS"),
        "API keys belong in the secret file");
    for (String line :
        DeployFiles.text(DeployFiles.DEPLOY.resolve("env.example")).lines().toList()) {
      Optional<String> secretWithValue =
          Optional.of(line).filter(l -> l.matches("[A-Z_]*(PASSWORD|TOKEN|SECRET|KEYS?)=.+"));
      assertTrue(secretWithValue.isEmpty(), "env.example should leave secrets empty: " + line);
    }
  }

  private static List<String> strings(JsonNode array) {
    return java.util.stream.StreamSupport.stream(array.spliterator(), false)
        .map(JsonNode::asText)
        .toList();
  }
}
