package io.spool.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.deploy.Manifests.KubeObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;

/**
 * deploy/k8s: Deployments, Services, PDBs, the migrate Job, KEDA objects, and how they refer to
 * each other.
 */
class KubernetesManifestsTest {
  private static final Manifests MANIFESTS = Manifests.load();
  private static final KubeObject GATEWAY = MANIFESTS.deploymentRunning("spool-gateway");
  private static final KubeObject WORKER = MANIFESTS.deploymentRunning("spool-worker");
  private static final Path SECRET_EXAMPLE = DeployFiles.DEPLOY.resolve("k8s/secret.example.yaml");

  @Test
  void everyObjectHasApiVersionKindAndName() {
    assertTrue(
        MANIFESTS.all().size() >= 10, "expected at least 10 objects, found " + MANIFESTS.all());
    for (KubeObject object : MANIFESTS.all()) {
      assertTrue(
          object.node().path("apiVersion").asText().matches("[a-z0-9.]+(/v[0-9a-z]+)?|v1"),
          "apiVersion of " + object);
      assertTrue(object.kind().matches("[A-Z][A-Za-z]+"), "kind of " + object);
      assertTrue(
          object.name().matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?"), "metadata.name of " + object);
      assertFalse(
          object.node().path("metadata").has("namespace"),
          object
              + " names a namespace: the manifests are "
              + "namespace-agnostic (kubectl apply -k deploy/k8s -n <namespace>)");
    }
  }

  @Test
  void kustomizationAppliesEveryManifestButTheExamples() throws Exception {
    JsonNode kustomization = DeployFiles.document("k8s/" + Manifests.KUSTOMIZATION);
    Set<String> listed = new TreeSet<>(texts(kustomization.path("resources")));
    Set<String> expected = new TreeSet<>();
    try (Stream<Path> files = Files.list(DeployFiles.DEPLOY.resolve("k8s"))) {
      files
          .map(f -> f.getFileName().toString())
          .filter(
              f ->
                  f.endsWith(".yaml")
                      && !f.equals(Manifests.KUSTOMIZATION)
                      && !f.endsWith(".example.yaml"))
          .forEach(expected::add);
    }
    assertEquals(
        expected,
        listed,
        "kustomization.yaml's resources should be every manifest except the *.example.yaml ones");
    Set<String> images =
        MANIFESTS.workloads().stream()
            .flatMap(w -> Manifests.containers(w).stream())
            .map(c -> c.path("image").asText())
            .collect(Collectors.toCollection(TreeSet::new));
    Set<String> named =
        StreamSupport.stream(kustomization.path("images").spliterator(), false)
            .map(i -> i.path("name").asText())
            .collect(Collectors.toCollection(TreeSet::new));
    assertEquals(
        images,
        named,
        "kustomization.yaml should set the registry and tag of every image the manifests use");
  }

  @Test
  void deploymentsSelectTheirOwnPods() {
    for (KubeObject deployment : MANIFESTS.ofKind("Deployment")) {
      assertTrue(
          Manifests.selects(
              deployment.node().path("spec").path("selector").path("matchLabels"),
              Manifests.podLabels(deployment)),
          deployment + "'s selector should match its own pod template's labels");
    }
  }

  @Test
  void serviceSelectsTheGatewayPodsOnTheirHttpPort() {
    List<KubeObject> services = MANIFESTS.ofKind("Service");
    assertFalse(services.isEmpty(), "the gateway needs a Service");
    for (KubeObject service : services) {
      JsonNode selector = service.node().path("spec").path("selector");
      List<KubeObject> selected =
          MANIFESTS.ofKind("Deployment").stream()
              .filter(d -> Manifests.selects(selector, Manifests.podLabels(d)))
              .toList();
      assertEquals(
          List.of(GATEWAY.name()),
          selected.stream().map(KubeObject::name).toList(),
          service + " should select the gateway's pods");
      for (JsonNode port : service.node().path("spec").path("ports")) {
        assertEquals(
            gatewayPort(),
            containerPort(Manifests.onlyContainer(GATEWAY), port.path("targetPort")),
            service + "'s targetPort should be the gateway's SPOOL_HTTP_PORT");
      }
    }
  }

  @Test
  void disruptionBudgetsCoverTheGatewayAndTheWorkers() {
    var covered = new ArrayList<String>();
    for (KubeObject budget : MANIFESTS.ofKind("PodDisruptionBudget")) {
      JsonNode selector = budget.node().path("spec").path("selector").path("matchLabels");
      List<String> selected =
          MANIFESTS.ofKind("Deployment").stream()
              .filter(d -> Manifests.selects(selector, Manifests.podLabels(d)))
              .map(KubeObject::name)
              .toList();
      assertEquals(
          1,
          selected.size(),
          budget + " should select exactly one Deployment's pods, not " + selected);
      JsonNode spec = budget.node().path("spec");
      assertTrue(
          spec.has("maxUnavailable") ^ spec.has("minAvailable"),
          budget + " needs one of maxUnavailable, minAvailable");
      covered.addAll(selected);
    }
    assertEquals(
        new TreeSet<>(List.of(GATEWAY.name(), WORKER.name())),
        new TreeSet<>(covered),
        "PodDisruptionBudgets");
  }

  @Test
  void probesAskTheHealthEndpointsOnTheConfiguredPorts() {
    Map.of(GATEWAY, gatewayPort(), WORKER, workerPort())
        .forEach(
            (deployment, port) -> {
              JsonNode container = Manifests.onlyContainer(deployment);
              assertTrue(
                  StreamSupport.stream(container.path("ports").spliterator(), false)
                      .anyMatch(p -> p.path("containerPort").asInt() == port),
                  deployment + " should declare its port " + port);
              Map.of("readinessProbe", "/health/ready", "livenessProbe", "/health/live")
                  .forEach(
                      (probe, path) -> {
                        JsonNode get = container.path(probe).path("httpGet");
                        assertEquals(
                            path, get.path("path").asText(), deployment + "'s " + probe + " path");
                        assertEquals(
                            port,
                            containerPort(container, get.path("port")),
                            deployment + "'s " + probe + " port");
                      });
              JsonNode startup = container.path("startupProbe").path("httpGet");
              if (!startup.isMissingNode()) {
                assertTrue(
                    startup.path("path").asText().startsWith("/health/"),
                    deployment + "'s startupProbe path");
                assertEquals(
                    port,
                    containerPort(container, startup.path("port")),
                    deployment + "'s startupProbe port");
              }
            });
  }

  @Test
  void workersGetLongerToStopThanTheirShutdownGrace() {
    JsonNode worker = Manifests.onlyContainer(WORKER);
    long grace = Long.parseLong(MANIFESTS.requiredSetting(worker, "SPOOL_SHUTDOWN_GRACE_SECS"));
    long termination = Manifests.podSpec(WORKER).path("terminationGracePeriodSeconds").asLong(30);
    assertTrue(
        termination >= grace + 10,
        "the worker's terminationGracePeriodSeconds ("
            + termination
            + ") should "
            + "exceed SPOOL_SHUTDOWN_GRACE_SECS ("
            + grace
            + ") by 10 s or more, or the kubelet kills workers mid-drain");
  }

  @Test
  void scaledObjectScalesTheWorkerDeployment() {
    List<KubeObject> scaledObjects = MANIFESTS.ofKind("ScaledObject");
    assertEquals(1, scaledObjects.size(), "one KEDA ScaledObject");
    JsonNode spec = scaledObjects.getFirst().node().path("spec");
    JsonNode target = spec.path("scaleTargetRef");
    assertEquals(
        WORKER.name(),
        target.path("name").asText(),
        "the ScaledObject should scale the worker Deployment");
    assertEquals("Deployment", target.path("kind").asText("Deployment"), "scaleTargetRef.kind");
    int min = spec.path("minReplicaCount").asInt(0);
    int max = spec.path("maxReplicaCount").asInt(100);
    assertTrue(
        1 <= min && min <= max,
        "replicas should range from at least 1 (workers also reap leases, promote "
            + "delayed jobs and send webhooks) up to max: "
            + min
            + ".."
            + max);
    assertFalse(
        WORKER.node().path("spec").has("replicas"),
        "KEDA owns the worker count: a replicas field would fight it on every apply");
    for (JsonNode trigger : spec.path("triggers")) {
      String authentication = trigger.path("authenticationRef").path("name").asText();
      assertTrue(
          MANIFESTS.find("TriggerAuthentication", authentication).isPresent(),
          "trigger "
              + trigger.path("name").asText()
              + " names the missing TriggerAuthentication "
              + authentication);
    }
  }

  @Test
  void kedaWatchesEveryPriorityBandOfEveryWorkerQueueAndTypeAndPostgres() {
    JsonNode worker = Manifests.onlyContainer(WORKER);
    String prefix = MANIFESTS.requiredSetting(worker, "SPOOL_KEY_PREFIX");
    String schema = MANIFESTS.requiredSetting(worker, "SPOOL_PG_SCHEMA");
    JsonNode triggers =
        MANIFESTS.ofKind("ScaledObject").getFirst().node().path("spec").path("triggers");

    Set<String> expectedStreams = new TreeSet<>();
    List<String> types =
        java.util.Arrays.stream(MANIFESTS.requiredSetting(worker, "SPOOL_WORKER_TYPES").split(","))
            .map(String::strip)
            .toList();
    int shards = Integer.parseInt(MANIFESTS.setting(worker, "SPOOL_QUEUE_SHARDS").orElse("1"));
    for (String queue : MANIFESTS.requiredSetting(worker, "SPOOL_QUEUES").split(",")) {
      for (int shard = 0; shard < shards; shard++) {
        for (String type : types) {
          // Keys.queueStream: {prefix/q/<queue>/<shard>}:t:<type>, bands :high, plain, :low
          String stream = "{" + prefix + "/q/" + queue.strip() + "/" + shard + "}:t:" + type;
          expectedStreams.addAll(List.of(stream + ":high", stream, stream + ":low"));
        }
      }
    }
    Set<String> watched = new TreeSet<>();
    int postgres = 0;
    for (JsonNode trigger : triggers) {
      JsonNode metadata = trigger.path("metadata");
      switch (trigger.path("type").asText()) {
        case "redis-streams" -> {
          watched.add(metadata.path("stream").asText());
          assertEquals(
              "workers",
              metadata.path("consumerGroup").asText(),
              "the consumer group every worker joins");
          assertTrue(
              metadata.path("lagCount").asText().matches("[1-9][0-9]*"),
              "a redis-streams trigger scales on lagCount");
        }
        case "postgresql" -> {
          postgres++;
          String query = metadata.path("query").asText().replaceAll("\\s+", " ");
          String expected =
              "SELECT count(*) FROM "
                  + schema
                  + ".jobs WHERE status = 'pending' AND run_at <= now() AND type IN ("
                  + String.join(", ", types.stream().map(t -> "'" + t + "'").toList())
                  + ")";
          assertEquals(
              expected,
              query,
              "the Postgres trigger counts due pending jobs of the workers' types in SPOOL_PG_SCHEMA");
          assertTrue(
              Double.parseDouble(metadata.path("targetQueryValue").asText("0")) > 0,
              "targetQueryValue");
        }
        default -> fail("unexpected trigger type " + trigger.path("type").asText());
      }
    }
    assertEquals(
        expectedStreams,
        watched,
        "one redis-streams trigger per priority band of each queue and type the workers serve");
    assertEquals(
        1, postgres, "one postgresql trigger, the fallback that works while Redis is down");
  }

  @Test
  void everyReferencedSecretKeyAndConfigMapExists() {
    Map<String, Set<String>> secretKeys = new java.util.HashMap<>();
    for (KubeObject secret : MANIFESTS.ofKind("Secret")) {
      var keys = new HashSet<String>();
      secret.node().path("stringData").fieldNames().forEachRemaining(keys::add);
      secret.node().path("data").fieldNames().forEachRemaining(keys::add);
      secretKeys.put(secret.name(), keys);
    }
    var missing = new ArrayList<String>();
    for (KubeObject workload : MANIFESTS.workloads()) {
      for (JsonNode container : Manifests.containers(workload)) {
        for (JsonNode env : container.path("env")) {
          JsonNode ref = env.path("valueFrom").path("secretKeyRef");
          if (ref.isObject()
              && !ref.path("optional").asBoolean(false)
              && !secretKeys
                  .getOrDefault(ref.path("name").asText(), Set.of())
                  .contains(ref.path("key").asText())) {
            missing.add(
                workload
                    + ": Secret "
                    + ref.path("name").asText()
                    + " key "
                    + ref.path("key").asText());
          }
        }
        for (JsonNode source : container.path("envFrom")) {
          String configMap = source.path("configMapRef").path("name").asText(null);
          if (configMap != null && MANIFESTS.find("ConfigMap", configMap).isEmpty()) {
            missing.add(workload + ": ConfigMap " + configMap);
          }
        }
      }
      for (JsonNode volume : Manifests.podSpec(workload).path("volumes")) {
        String secret = volume.path("secret").path("secretName").asText(null);
        if (secret != null && !secretKeys.containsKey(secret)) {
          missing.add(workload + ": Secret " + secret + " (volume)");
        }
      }
    }
    for (KubeObject authentication : MANIFESTS.ofKind("TriggerAuthentication")) {
      for (JsonNode ref : authentication.node().path("spec").path("secretTargetRef")) {
        if (!secretKeys
            .getOrDefault(ref.path("name").asText(), Set.of())
            .contains(ref.path("key").asText())) {
          missing.add(
              authentication
                  + ": Secret "
                  + ref.path("name").asText()
                  + " key "
                  + ref.path("key").asText());
        }
      }
    }
    assertTrue(
        missing.isEmpty(),
        "referenced but not defined (secret.example.yaml, configmap.yaml): " + missing);
  }

  @Test
  void exampleSecretsHoldOnlyPlaceholders() {
    for (JsonNode secret : DeployFiles.documents(SECRET_EXAMPLE)) {
      secret
          .path("stringData")
          .properties()
          .forEach(
              entry -> {
                String key = entry.getKey();
                String value = entry.getValue().asText();
                if (key.equals("api-keys")) {
                  assertTrue(
                      value
                          .lines()
                          .allMatch(line -> line.isBlank() || line.strip().startsWith("#")),
                      "the example API keys file must hold no key, only comments: an unedited copy would open the API");
                } else if (key.matches("(?i).*(password|token|secret|url).*")) {
                  assertTrue(
                      value.contains("REPLACE_ME"),
                      "example secret value " + key + " should be a REPLACE_ME placeholder");
                }
              });
    }
  }

  @Test
  void podsRunAsTheImagesNonRootUser() {
    for (KubeObject workload : MANIFESTS.workloads()) {
      JsonNode security = Manifests.podSpec(workload).path("securityContext");
      assertTrue(
          security.path("runAsNonRoot").asBoolean(false), workload + " should set runAsNonRoot");
      String target =
          Manifests.onlyContainer(workload).path("image").asText().replace("spool-", "");
      assertEquals(
          DockerfileTest.uid(target),
          security.path("runAsUser").asLong(-1),
          workload + "'s runAsUser is the image's USER");
      JsonNode container = Manifests.onlyContainer(workload).path("securityContext");
      assertFalse(
          container.path("allowPrivilegeEscalation").asBoolean(true),
          workload + " should forbid privilege escalation");
    }
  }

  @Test
  void memoryLimitsLeaveRoomBesideTheHeap() {
    double heapShare = DockerfileTest.maxRamPercentage() / 100;
    for (KubeObject workload : MANIFESTS.workloads()) {
      JsonNode resources = Manifests.onlyContainer(workload).path("resources");
      String limit = resources.path("limits").path("memory").asText(null);
      assertTrue(limit != null, workload + " needs a memory limit: the JVM sizes its heap from it");
      long limitBytes = Sizes.kubernetesBytes(limit);
      assertTrue(
          limitBytes * (1 - heapShare) >= Sizes.NON_HEAP_HEADROOM,
          workload
              + "'s limit "
              + limit
              + " leaves under "
              + Sizes.NON_HEAP_HEADROOM / Sizes.MIB
              + " MiB beside a "
              + (int) (heapShare * 100)
              + " % heap");
      long requestBytes =
          Sizes.kubernetesBytes(resources.path("requests").path("memory").asText("0"));
      assertTrue(
          requestBytes > 0 && requestBytes <= limitBytes,
          workload + " should request memory, at most its limit");
      if (workload.kind().equals("Deployment")) {
        assertEquals(
            limitBytes,
            requestBytes,
            workload
                + ": a long-running JVM grows to its limit; request as much, "
                + "or the node may run out and kill it (a worker mid-job) under memory pressure");
      }
    }
  }

  private static int gatewayPort() {
    return Integer.parseInt(
        MANIFESTS.requiredSetting(Manifests.onlyContainer(GATEWAY), "SPOOL_HTTP_PORT"));
  }

  private static int workerPort() {
    return Integer.parseInt(
        MANIFESTS.requiredSetting(Manifests.onlyContainer(WORKER), "SPOOL_METRICS_PORT"));
  }

  /** A port reference (number or name) resolved against the container's declared ports. */
  private static int containerPort(JsonNode container, JsonNode port) {
    if (port.isNumber()) {
      return port.asInt();
    }
    for (JsonNode declared : container.path("ports")) {
      if (declared.path("name").asText().equals(port.asText())) {
        return declared.path("containerPort").asInt();
      }
    }
    return fail("no container port named " + port.asText());
  }

  private static List<String> texts(JsonNode array) {
    return StreamSupport.stream(array.spliterator(), false).map(JsonNode::asText).toList();
  }
}
