package io.spool.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.deploy.Manifests.KubeObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;

/** deploy/prometheus: the alert rules, their unit tests, and the example scrape configurations. */
class AlertRulesTest {
  private static final String RULES = "prometheus/spool-alerts.yaml";
  private static final String RULE_TESTS = "prometheus/spool-alerts.test.yaml";

  /**
   * Gauges every Spool process exports with the same cluster-wide value: alerts must de-duplicate
   * them.
   */
  private static final Pattern CLUSTER_GAUGE =
      Pattern.compile(
          "spool_queue_(pending_jobs|lag_entries|oldest_pending_timestamp_seconds)|spool_jobs_running|spool_dlq_jobs|spool_workers_alive");

  private static final Set<String> SCRAPE_JOBS = Set.of("spool-gateway", "spool-worker");

  private static List<JsonNode> alerts() {
    var alerts = new ArrayList<JsonNode>();
    for (JsonNode group : DeployFiles.document(RULES).path("groups")) {
      group
          .path("rules")
          .forEach(
              rule -> {
                if (rule.has("alert")) {
                  alerts.add(rule);
                }
              });
    }
    return alerts;
  }

  @Test
  void alertRulesAreValid() {
    Tools.assertPasses("promtool", "check", "rules", RULES);
  }

  @Test
  void alertRulesPassTheirUnitTests() {
    Tools.assertPasses("promtool", "test", "rules", RULE_TESTS);
  }

  @Test
  void everyAlertWaitsHasASeverityAndTellsWhatToDo() {
    Set<String> names = new TreeSet<>();
    for (JsonNode alert : alerts()) {
      String name = alert.path("alert").asText();
      names.add(name);
      assertTrue(
          alert.path("for").asText().matches("\\d+[smh]"),
          name + " needs a for: so one bad sample does not page");
      assertTrue(
          Set.of("warning", "critical").contains(alert.path("labels").path("severity").asText()),
          name + "'s severity label");
      for (String annotation : List.of("summary", "description", "runbook")) {
        assertFalse(
            alert.path("annotations").path(annotation).asText().isBlank(),
            name + " needs a " + annotation + " annotation");
      }
    }
    assertTrue(
        names.containsAll(
            Set.of(
                "SpoolQueueLagHigh",
                "SpoolOldestPendingJobTooOld",
                "SpoolDeadLetterQueueGrowing",
                "SpoolWorkersMissing")),
        "the alerts issue #7 asks for: " + names);
  }

  @Test
  void everyAlertHasAFiringAndAQuietTestCase() {
    Map<String, int[]> cases = new LinkedHashMap<>(); // alert -> {firing, quiet}
    alerts().forEach(alert -> cases.put(alert.path("alert").asText(), new int[2]));
    for (JsonNode test : DeployFiles.document(RULE_TESTS).path("tests")) {
      for (JsonNode check : test.path("alert_rule_test")) {
        int[] counts = cases.get(check.path("alertname").asText());
        if (counts != null) {
          counts[check.path("exp_alerts").isEmpty() ? 1 : 0]++;
        }
      }
    }
    cases.forEach(
        (alert, counts) -> {
          assertTrue(counts[0] > 0, alert + " has no test case where it fires");
          assertTrue(counts[1] > 0, alert + " has no test case where it must stay quiet");
        });
  }

  @Test
  void clusterWideGaugesAreDeduplicatedWithMax() {
    for (JsonNode alert : alerts()) {
      String expr = alert.path("expr").asText();
      if (CLUSTER_GAUGE.matcher(expr).find()) {
        assertTrue(
            expr.contains("max"),
            alert.path("alert").asText()
                + " should aggregate with max: every process exports "
                + "the same cluster-wide value, and a sum would multiply it by the number of processes: "
                + expr);
      }
    }
  }

  @Test
  void composeScrapeConfigIsValidAndFindsEveryReplica() {
    Tools.assertPasses(
        "promtool", "check", "config", "--syntax-only", "prometheus/prometheus.yaml");
    Map<String, JsonNode> jobs = scrapeJobs("prometheus/prometheus.yaml");
    assertEquals(
        List.of("gateway:" + DeployFiles.readmeDefault("SPOOL_HTTP_PORT")),
        texts(jobs.get("spool-gateway").path("static_configs").path(0).path("targets")),
        "the compose gateway's address");
    JsonNode workers = jobs.get("spool-worker").path("dns_sd_configs").path(0);
    assertEquals(
        List.of("worker"),
        texts(workers.path("names")),
        "every replica of the compose service worker, by DNS");
    assertEquals(
        DeployFiles.readmeDefault("SPOOL_METRICS_PORT"),
        workers.path("port").asText(),
        "the workers' metrics port");
  }

  @Test
  void kubernetesScrapeConfigKeepsTheGatewayAndWorkerPodsPorts() {
    Manifests manifests = Manifests.load();
    Map<String, JsonNode> jobs = scrapeJobs("prometheus/prometheus-kubernetes.yaml");
    Map.of("spool-gateway", "spool-gateway", "spool-worker", "spool-worker")
        .forEach(
            (job, image) -> {
              KubeObject deployment = manifests.deploymentRunning(image);
              JsonNode labels = Manifests.podLabels(deployment);
              String podPort =
                  Manifests.onlyContainer(deployment).path("ports").path(0).path("name").asText();
              String expected =
                  labels.path("app.kubernetes.io/name").asText()
                      + ";"
                      + labels.path("app.kubernetes.io/component").asText()
                      + ";"
                      + podPort;
              JsonNode keep =
                  StreamSupport.stream(jobs.get(job).path("relabel_configs").spliterator(), false)
                      .filter(r -> r.path("action").asText().equals("keep"))
                      .findFirst()
                      .orElseThrow();
              assertEquals(
                  expected,
                  keep.path("regex").asText(),
                  job + " should keep the pods' name;component;port-name of " + deployment);
              assertEquals(
                  List.of(
                      "__meta_kubernetes_pod_label_app_kubernetes_io_name",
                      "__meta_kubernetes_pod_label_app_kubernetes_io_component",
                      "__meta_kubernetes_pod_container_port_name"),
                  texts(keep.path("source_labels")),
                  job + "'s keep rule's source labels");
            });
  }

  /**
   * The scrape jobs of a Prometheus configuration by name; checks they are Spool's two and send the
   * token.
   */
  private static Map<String, JsonNode> scrapeJobs(String file) {
    Map<String, JsonNode> jobs = new LinkedHashMap<>();
    DeployFiles.document(file)
        .path("scrape_configs")
        .forEach(job -> jobs.put(job.path("job_name").asText(), job));
    assertEquals(SCRAPE_JOBS, jobs.keySet(), file + "'s scrape jobs (the alerts name them)");
    jobs.forEach(
        (name, job) -> {
          assertEquals(
              "/metrics", job.path("metrics_path").asText("/metrics"), name + "'s metrics path");
          assertEquals(
              "Bearer",
              job.path("authorization").path("type").asText("Bearer"),
              name + " sends SPOOL_METRICS_TOKEN as a bearer token");
          assertFalse(
              job.path("authorization").path("credentials_file").asText().isBlank(),
              name + " reads the token from a file");
        });
    List<String> ruleFiles = texts(DeployFiles.document(file).path("rule_files"));
    assertEquals(
        List.of("spool-alerts.yaml"), ruleFiles, file + " should load the alert rules beside it");
    return jobs;
  }

  private static List<String> texts(JsonNode array) {
    return StreamSupport.stream(array.spliterator(), false).map(JsonNode::asText).toList();
  }
}
