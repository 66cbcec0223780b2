package io.spool.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.model.JobJson;
import io.spool.testing.HttpJson;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The dashboard at {@code GET /}, rendered in Debian's headless Chromium and driven by Playwright
 * ({@code src/test/browser/dashboard-check.mjs}, run once with node): the script acts like a person
 * and prints what it saw, one JSON line per scenario; the tests assert on that and on the API.
 */
class DashboardTest {
  private static final String KEY = "dashboard-key-0123456789abcdef";

  /** A queue no worker reads, so the job put there stays pending and the queue has depth. */
  private static final String IDLE_QUEUE = "dashboard-idle";

  private static final Path BROWSER_DIR = Path.of("src", "test", "browser");
  private static final Path SCREENSHOTS = Path.of("target").toAbsolutePath();
  private static final long BROWSER_RUN_SECS = 180;
  private static final String HOW_TO_INSTALL =
      "bin/test installs both (spool_browser_tools in bin/lib/common.sh); by hand: "
          + "apt-get install --no-install-recommends chromium && (cd launcher/src/test/browser && npm ci)";

  static InProcessSpool spool;
  static String base;
  static HttpJson api;
  static String seedId;
  static String deadId;

  /** What the browser script printed, by scenario; made by the first test that needs it. */
  private static Map<String, JsonNode> seen;

  private static String scriptOutput;

  @BeforeAll
  static void start() {
    // Queue figures read every second, not every ten, so the panel shows the idle job soon.
    spool =
        InProcessSpool.start(
            DashboardTest.class,
            Map.of(
                "SPOOL_AUTH",
                "keys",
                "SPOOL_API_KEYS",
                KEY + "=dana",
                "SPOOL_RETRY_BASE_MILLIS",
                "10",
                "SPOOL_QUEUE_STATS_SECS",
                "1"));
    base = "http://127.0.0.1:" + spool.config.gateway().port();
    api = new HttpJson(base, KEY);
    seedId = api.submit("{\"type\":\"echo\",\"request\":{\"hello\":\"dashboard\"}}");
    spool.awaitEnd(seedId, api);
    // Fails its one attempt, so it is dead-lettered; its second attempt (after a requeue) succeeds.
    deadId = api.submit("{\"type\":\"fail\",\"max_attempts\":1,\"request\":{\"times\":1}}");
    assertEquals("failed", spool.awaitEnd(deadId, api).get("status").asText());
    api.submit("{\"type\":\"echo\",\"queue\":\"" + IDLE_QUEUE + "\"}");
  }

  @AfterAll
  static void stop() {
    spool.close();
  }

  @Test
  void pageIsServedWithoutAKeyUnderAStrictContentSecurityPolicy() {
    var anonymous = new HttpJson(base);
    var page = anonymous.get("/");
    assertEquals(200, page.status());
    assertTrue(page.header("Content-Type").startsWith("text/html"), page.header("Content-Type"));
    assertTrue(page.raw().body().contains("/dashboard/dashboard.js"), "the page loads its module");
    String policy = page.header("Content-Security-Policy");
    assertTrue(
        policy.contains("default-src 'self'")
            && policy.contains("connect-src 'self' ws: wss:")
            && policy.contains("frame-ancestors 'none'")
            && !policy.contains("unsafe-inline"),
        policy);
    assertEquals("nosniff", page.header("X-Content-Type-Options"));
    assertEquals("no-referrer", page.header("Referrer-Policy"));
    assertEquals(
        "no-cache",
        page.header("Cache-Control"),
        "versionless files: revalidate, never keep stale");

    var script = anonymous.get("/dashboard/dashboard.js");
    assertEquals(200, script.status());
    assertTrue(script.header("Content-Type").contains("javascript"), script.header("Content-Type"));
    assertEquals(policy, script.header("Content-Security-Policy"));
    assertTrue(
        anonymous.get("/dashboard/dashboard.css").header("Content-Type").startsWith("text/css"));
    var unchanged =
        anonymous.send(
            HttpRequest.newBuilder(URI.create(base + "/dashboard/dashboard.js"))
                .header("If-Modified-Since", script.header("Last-Modified")));
    assertEquals(304, unchanged.status(), "a revalidation is cheap");
    assertEquals(404, anonymous.get("/dashboard/no-such-file.js").status());
    assertEquals(401, anonymous.get("/v1/jobs").status(), "the data still needs the key");
  }

  @Test
  void keyInTheFragmentIsStoredThenTakenOutOfTheAddressBarAndTheJobsAreListed() {
    JsonNode a = scenario("fragment-key");
    assertTrue(a.get("keyStored").asBoolean(), "key in session storage: " + a);
    assertTrue(a.get("fragmentRemoved").asBoolean(), "no #key= left in the address bar: " + a);
    assertTrue(a.get("keyPromptHidden").asBoolean(), a.toString());
    assertEquals("completed", a.get("seedStatus").asText(), a.toString());
    assertTrue(a.get("rows").asInt() >= 3, "seed, dead-lettered and idle jobs listed: " + a);
  }

  @Test
  void submittedSleepJobShowsLiveProgressOverTheWebSocketAndCompletesWithoutAReload() {
    JsonNode b = scenario("live-progress");
    List<String> states = new ArrayList<>();
    b.get("rowStates").forEach(s -> states.add(s.asText()));
    assertTrue(
        states.stream().anyMatch(s -> s.matches("running \\| (20|40|60|80)% · \\d/5")),
        "a step of the running job shown before its end: " + states);
    assertEquals("completed | 100% · done", states.get(states.size() - 1), states.toString());
    assertTrue(b.get("progressFrames").asInt() >= 4, "progress came over /v1/ws: " + b);
    assertTrue(b.get("samePage").asBoolean(), "no reload: " + b);

    String id = b.get("jobId").asText();
    assertEquals(id, b.get("detailId").asText());
    assertEquals("completed", b.get("detailStatus").asText());
    assertEquals(3000, b.get("detailResult").get("slept_ms").asInt(), b.toString());
    List<String> types = new ArrayList<>();
    b.get("detailEventTypes").forEach(t -> types.add(t.asText()));
    assertEquals("status", types.get(0), types.toString());
    assertEquals(5, types.stream().filter("progress"::equals).count(), types.toString());
    assertEquals("end", types.get(types.size() - 1), types.toString());
    assertEquals("completed", api.get("/v1/jobs/" + id).json().get("status").asText());
  }

  @Test
  void droppedWebSocketIsReopenedAndEachJobResumesAfterTheLastEventShown() {
    JsonNode r = scenario("reconnect");
    assertTrue(r.get("connections").asInt() >= 2, "connected again: " + r);
    List<Long> after = new ArrayList<>();
    r.get("resubscribedAfter").forEach(seq -> after.add(seq.asLong()));
    assertTrue(
        !after.isEmpty() && after.get(0) > 0,
        "resubscribed after the last seq shown, not from the start: " + r);
    List<String> states = new ArrayList<>();
    r.get("rowStates").forEach(s -> states.add(s.asText()));
    List<Integer> steps =
        states.stream()
            .map(s -> s.replaceAll(".*· (\\d)/6$", "$1"))
            .filter(s -> s.matches("\\d"))
            .map(Integer::valueOf)
            .toList();
    assertEquals(
        List.of(1, 2, 3, 4, 5, 6), steps, "every step once, in order, across the drop: " + states);
    assertEquals("completed | 100% · done", states.get(states.size() - 1), states.toString());
  }

  @Test
  void deadLetteredJobIsRequeuedByClickingRequeue() {
    JsonNode c = scenario("requeue");
    assertTrue(
        c.get("rowBefore").asText().contains("failing attempt 1"),
        "the DLQ row shows the error: " + c);
    assertTrue(c.get("message").asText().contains("requeued"), c.toString());
    assertFalse(
        c.get("rowAfter").asText().contains("Requeue"), "the button is gone once done: " + c);
    // Through the API: out of the DLQ, and its fresh attempt succeeded.
    assertFalse(api.get("/v1/dlq?limit=500").raw().body().contains(deadId));
    JsonNode job = spool.awaitEnd(deadId, api);
    assertEquals("completed", job.get("status").asText(), job.toString());
    assertEquals(2, job.get("attempts").asInt());
  }

  @Test
  void wrongKeyShowsTheKeyPromptWithTheErrorAndForgettingTheKeyAsksAgain() {
    JsonNode d = scenario("wrong-key");
    assertTrue(d.get("keyPromptShown").asBoolean(), d.toString());
    assertTrue(d.get("appHidden").asBoolean(), d.toString());
    assertEquals("The API key was refused: the API key is not valid", d.get("error").asText());
    assertFalse(d.get("keyStored").asBoolean(), "a refused key is not kept: " + d);
    assertTrue(d.get("fragmentRemoved").asBoolean(), d.toString());

    JsonNode forget = scenario("forget-key");
    assertTrue(forget.get("keyPromptShown").asBoolean(), forget.toString());
    assertTrue(forget.get("appHidden").asBoolean(), forget.toString());
    assertFalse(forget.get("keyStored").asBoolean(), forget.toString());
  }

  @Test
  void queuePanelShowsTheDepthOfEachQueue() {
    JsonNode e = scenario("queue-panel");
    assertEquals(1, e.get("idleQueuePending").asInt(), e.toString());
    assertTrue(e.get("summary").asText().contains("Redis up"), e.toString());
  }

  @Test
  void pageRaisesNoScriptErrorsAndBreaksNoPolicy() {
    JsonNode health = scenario("page-health");
    assertEquals(0, health.get("pageErrors").size(), health.toString());
    assertEquals(0, health.get("policyViolations").size(), health.toString());
  }

  /**
   * One scenario's observations; a scenario that failed in the browser fails here with its error.
   */
  private static JsonNode scenario(String name) {
    Map<String, JsonNode> all = browserRun();
    JsonNode observed = all.get(name);
    if (observed == null) {
      throw new AssertionError(
          "the browser script did not reach scenario " + name + "; it printed:\n" + scriptOutput);
    }
    if (!observed.get("ok").asBoolean()) {
      throw new AssertionError(
          "scenario "
              + name
              + " failed in the browser: "
              + observed.get("error").asText()
              + "\n(screenshot: launcher/target/dashboard-failed-"
              + name
              + ".png)\nscript output:\n"
              + scriptOutput);
    }
    return observed;
  }

  private static synchronized Map<String, JsonNode> browserRun() {
    if (seen != null) {
      return seen;
    }
    requireBrowserTools();
    var command =
        List.of(
            "node",
            "dashboard-check.mjs",
            base,
            KEY,
            seedId,
            deadId,
            IDLE_QUEUE,
            SCREENSHOTS.toString());
    Process process;
    try {
      process =
          new ProcessBuilder(command)
              .directory(BROWSER_DIR.toFile())
              .redirectErrorStream(true)
              .start();
    } catch (IOException e) {
      throw new AssertionError(
          "could not run node (Node.js 20+ is needed for the dashboard test): " + e.getMessage(),
          e);
    }
    var output = new StringBuilder();
    Thread reader =
        Thread.ofVirtual()
            .start(
                () -> {
                  try {
                    output.append(
                        new String(
                            process.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
                  } catch (IOException e) {
                    throw new UncheckedIOException(e);
                  }
                });
    try {
      if (!process.waitFor(BROWSER_RUN_SECS, TimeUnit.SECONDS)) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
      }
      reader.join(TimeUnit.SECONDS.toMillis(10));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while the browser ran", e);
    }
    scriptOutput = output.toString();
    System.out.println("dashboard-check.mjs printed:\n" + scriptOutput);
    var byScenario = new HashMap<String, JsonNode>();
    for (String line : scriptOutput.split("\n")) {
      if (line.startsWith("{")) {
        JsonNode node = JobJson.tree(line);
        byScenario.put(node.get("scenario").asText(), node);
      }
    }
    seen = byScenario;
    return seen;
  }

  /**
   * The browser and the driver must be there: a missing one fails the test, saying how to install.
   */
  private static void requireBrowserTools() {
    String chromium = System.getenv().getOrDefault("SPOOL_CHROMIUM", "/usr/bin/chromium");
    if (!Files.isExecutable(Path.of(chromium))) {
      throw new AssertionError("Chromium is not installed at " + chromium + ". " + HOW_TO_INSTALL);
    }
    if (!Files.isDirectory(BROWSER_DIR.resolve("node_modules").resolve("playwright-core"))) {
      throw new AssertionError(
          "playwright-core is not installed in launcher/"
              + BROWSER_DIR
              + "/node_modules. "
              + HOW_TO_INSTALL);
    }
  }
}
