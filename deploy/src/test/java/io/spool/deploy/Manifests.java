package io.spool.deploy;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.StreamSupport;

/**
 * The Kubernetes objects under deploy/k8s (kustomization.yaml aside), and the look-ups the checks
 * need.
 */
final class Manifests {
  static final String KUSTOMIZATION = "kustomization.yaml";

  /** An object and the file it comes from, for messages. */
  record KubeObject(Path file, JsonNode node) {
    String kind() {
      return node.path("kind").asText();
    }

    String name() {
      return node.path("metadata").path("name").asText();
    }

    @Override
    public String toString() {
      return kind() + " " + name() + " (" + DeployFiles.DEPLOY.relativize(file) + ")";
    }
  }

  private final List<KubeObject> objects;

  private Manifests(List<KubeObject> objects) {
    this.objects = objects;
  }

  static Manifests load() {
    var objects = new ArrayList<KubeObject>();
    Path k8s = DeployFiles.DEPLOY.resolve("k8s");
    for (Path file : DeployFiles.yamlFiles()) {
      if (file.startsWith(k8s) && !file.getFileName().toString().equals(KUSTOMIZATION)) {
        for (JsonNode document : DeployFiles.documents(file)) {
          if (document != null && !document.isNull()) {
            objects.add(new KubeObject(file, document));
          }
        }
      }
    }
    return new Manifests(objects);
  }

  List<KubeObject> all() {
    return objects;
  }

  List<KubeObject> ofKind(String kind) {
    return objects.stream().filter(o -> o.kind().equals(kind)).toList();
  }

  Optional<KubeObject> find(String kind, String name) {
    return objects.stream().filter(o -> o.kind().equals(kind) && o.name().equals(name)).findFirst();
  }

  KubeObject named(String kind, String name) {
    return find(kind, name)
        .orElseGet(() -> fail("no " + kind + " named " + name + " under deploy/k8s"));
  }

  /** The Deployment whose containers run this image (spool-gateway, spool-worker). */
  KubeObject deploymentRunning(String image) {
    return ofKind("Deployment").stream()
        .filter(d -> containers(d).stream().anyMatch(c -> c.path("image").asText().equals(image)))
        .findFirst()
        .orElseGet(() -> fail("no Deployment runs the image " + image));
  }

  /** Every workload (Deployment, Job) with a pod template. */
  List<KubeObject> workloads() {
    return objects.stream()
        .filter(o -> o.node().path("spec").path("template").path("spec").isObject())
        .toList();
  }

  static JsonNode podSpec(KubeObject workload) {
    return workload.node().path("spec").path("template").path("spec");
  }

  static List<JsonNode> containers(KubeObject workload) {
    return StreamSupport.stream(podSpec(workload).path("containers").spliterator(), false).toList();
  }

  static JsonNode onlyContainer(KubeObject workload) {
    List<JsonNode> containers = containers(workload);
    if (containers.size() != 1) {
      fail(workload + " should have one container, not " + containers.size());
    }
    return containers.getFirst();
  }

  /** The pod labels of a workload's template. */
  static JsonNode podLabels(KubeObject workload) {
    return workload.node().path("spec").path("template").path("metadata").path("labels");
  }

  /** Whether every key and value of {@code selector} is among {@code labels}. */
  static boolean selects(JsonNode selector, JsonNode labels) {
    if (selector == null || !selector.isObject() || selector.isEmpty()) {
      return false;
    }
    for (Map.Entry<String, JsonNode> wanted : selector.properties()) {
      if (!labels.path(wanted.getKey()).asText("\0").equals(wanted.getValue().asText())) {
        return false;
      }
    }
    return true;
  }

  /**
   * The value a Spool setting takes in this container: a literal in its env, else an entry of a
   * ConfigMap it loads with envFrom, else the README's default. Empty when it comes from a Secret.
   */
  Optional<String> setting(JsonNode container, String name) {
    for (JsonNode env : container.path("env")) {
      if (env.path("name").asText().equals(name)) {
        return env.has("value") ? Optional.of(env.path("value").asText()) : Optional.empty();
      }
    }
    for (JsonNode source : container.path("envFrom")) {
      String configMap = source.path("configMapRef").path("name").asText(null);
      if (configMap != null) {
        JsonNode data = named("ConfigMap", configMap).node().path("data");
        if (data.has(name)) {
          return Optional.of(data.path(name).asText());
        }
      }
    }
    return Optional.of(DeployFiles.readmeDefault(name));
  }

  /** A setting that must be known (not from a Secret), e.g. a port. */
  String requiredSetting(JsonNode container, String name) {
    return setting(container, name)
        .orElseGet(() -> fail(name + " comes from a Secret; the checks need its value"));
  }
}
