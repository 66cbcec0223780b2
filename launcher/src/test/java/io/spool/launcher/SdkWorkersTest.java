package io.spool.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.spool.testing.Eventually;
import io.spool.testing.HttpJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Workers written with the Python and TypeScript SDKs, as real processes beside a Java worker on
 * one queue, against a real gateway; and each SDK's own test suite run against it. Needs Debian's
 * python3 with python3-httpx and python3-pytest, and the TypeScript SDK built ({@code npm ci && npm
 * run build} in sdk/typescript): {@code bin/test} installs and builds both.
 */
class SdkWorkersTest {
  private static final String USER_KEY = "sdk-user-0123456789abcdef";
  private static final String WORKER_KEY = "sdk-worker-0123456789abcdef";
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final String PYTHON =
      System.getenv().getOrDefault("SPOOL_PYTHON", "/usr/bin/python3");
  static InProcessSpool spool;
  static String base;
  static HttpJson user;
  private final List<Process> processes = new ArrayList<>();
  @TempDir Path dir;

  @BeforeAll
  static void start() {
    requireTools();
    spool =
        InProcessSpool.start(
            SdkWorkersTest.class,
            Map.of(
                "SPOOL_AUTH",
                "keys",
                "SPOOL_API_KEYS",
                USER_KEY + "=sdk-user",
                "SPOOL_WORKER_KEYS",
                WORKER_KEY + "=sdk",
                "SPOOL_VISIBILITY_TIMEOUT_SECS",
                "4",
                "SPOOL_RETRY_BASE_MILLIS",
                "10"));
    base = "http://127.0.0.1:" + spool.config.gateway().port();
    user = new HttpJson(base, USER_KEY);
  }

  /** A missing tool fails the run with how to get it, never a silent skip. */
  private static void requireTools() {
    try {
      var check =
          new ProcessBuilder(PYTHON, "-c", "import httpx, pytest")
              .redirectErrorStream(true)
              .start();
      String out = new String(check.getInputStream().readAllBytes());
      if (check.waitFor() != 0) {
        throw new AssertionError(
            PYTHON
                + " lacks httpx or pytest ("
                + out.strip()
                + "): apt-get install python3-httpx python3-pytest python3-pytest-asyncio, or run bin/test");
      }
    } catch (IOException e) {
      throw new AssertionError(
          "no " + PYTHON + ": apt-get install python3 python3-httpx python3-pytest", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
    if (!Files.exists(ROOT.resolve("sdk/typescript/dist/index.js"))) {
      throw new AssertionError(
          "the TypeScript SDK is not built: cd sdk/typescript && npm ci && npm run build (bin/test does it)");
    }
  }

  @AfterAll
  static void stop() {
    if (spool != null) {
      spool.close();
    }
  }

  @AfterEach
  void killWorkers() {
    processes.forEach(Process::destroyForcibly);
  }

  private Map<String, String> env(String type) {
    var env = new HashMap<String, String>();
    env.put("SPOOL_URL", base);
    env.put("SPOOL_API_KEY", USER_KEY);
    env.put("SPOOL_WORKER_KEY", WORKER_KEY);
    env.put("SPOOL_TEST_TYPE", type);
    env.put("SPOOL_TEST_EFFECTS", dir.resolve("effects-" + type).toString());
    env.put("SPOOL_TEST_CANCELLED", dir.resolve("cancelled-" + type).toString());
    env.put("PYTHONPATH", ROOT.resolve("sdk/python").toString());
    env.put("PYTHONUNBUFFERED", "1");
    return env;
  }

  private Process run(Map<String, String> env, Path log, String... command) throws IOException {
    var builder =
        new ProcessBuilder(command)
            .directory(ROOT.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile());
    builder.environment().putAll(env);
    Process process = builder.start();
    processes.add(process);
    return process;
  }

  private Process python(String type, String name) throws IOException {
    return run(
        env(type),
        dir.resolve(name + ".log"),
        PYTHON,
        ROOT.resolve("launcher/src/test/python/agent_worker.py").toString());
  }

  private Process node(String type) throws IOException {
    return run(
        env(type),
        dir.resolve("node.log"),
        "node",
        ROOT.resolve("launcher/src/test/node/agent-worker.mjs").toString());
  }

  private static String newType(String prefix) {
    return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  /** Waits until a worker serving {@code type} has registered (its jobs can be submitted). */
  private void awaitServed(String type, Process process, Path log) {
    Eventually.await(
        "a worker serves " + type + " (log: " + log + ")",
        Duration.ofSeconds(20),
        () -> {
          assertTrue(process.isAlive(), () -> "the worker exited: " + read(log));
          // Refused (422, unknown type) until the worker has registered it.
          return user.post("/v1/jobs", "{\"type\":\"" + type + "\",\"request\":{\"probe\":1}}")
                  .status()
              == 202;
        });
  }

  private static String read(Path log) {
    try {
      return Files.exists(log) ? Files.readString(log) : "(no log)";
    } catch (IOException e) {
      return e.toString();
    }
  }

  @Test
  void pythonTypescriptAndJavaWorkersServeTheirOwnTypesOnOneQueue() throws Exception {
    String py = newType("py");
    String ts = newType("ts");
    Process python = python(py, "python");
    Process node = node(ts);
    awaitServed(py, python, dir.resolve("python.log"));
    awaitServed(ts, node, dir.resolve("node.log"));
    var ids = new HashMap<String, String>();
    for (int i = 0; i < 10; i++) {
      ids.put(user.submit("{\"type\":\"" + py + "\",\"request\":{\"steps\":2}}"), "python");
      ids.put(user.submit("{\"type\":\"" + ts + "\",\"request\":{\"steps\":2}}"), "node");
      ids.put(user.submit("{\"type\":\"echo\",\"request\":{\"by\":\"java\"}}"), "java");
    }
    for (var entry : ids.entrySet()) {
      JsonNode job = spool.awaitEnd(entry.getKey(), user);
      assertEquals("completed", job.get("status").asText(), job.toString());
      assertEquals(entry.getValue(), job.get("result").get("by").asText(), job.toString());
      assertEquals(1, job.get("attempts").asInt(), "no worker took a job it cannot run");
    }
  }

  @Test
  void aKilledPythonWorkersJobIsFinishedByAnotherFromItsCheckpointWithoutRepeatingItsSideEffect()
      throws Exception {
    String type = newType("py");
    Process doomed = python(type, "doomed");
    awaitServed(type, doomed, dir.resolve("doomed.log"));
    String id =
        user.submit(
            "{\"type\":\""
                + type
                + "\",\"max_attempts\":3,\"request\":{\"steps\":3,\"stall_on_attempt\":1}}");
    Eventually.await(
        "attempt 1 checkpointed step 1",
        Duration.ofSeconds(20),
        () -> {
          JsonNode job = user.get("/v1/jobs/" + id).json();
          return job.get("checkpoint").isObject() && job.get("checkpoint").get("step").asInt() == 1;
        });
    doomed.destroyForcibly(); // SIGKILL: no hand-back, no goodbye
    assertTrue(doomed.waitFor(10, TimeUnit.SECONDS));
    python(type, "heir");

    JsonNode job = spool.awaitEnd(id, user);
    assertEquals("completed", job.get("status").asText(), job.toString());
    assertEquals(2, job.get("attempts").asInt(), "the second attempt finished it");
    assertEquals(1, job.get("result").get("resumed_from").asInt(), "from the checkpoint");
    List<String> charges =
        Files.readAllLines(dir.resolve("effects-" + type)).stream()
            .filter(line -> line.startsWith(id))
            .toList();
    assertEquals(List.of(id + ":charge"), charges, "the side effect ran once, with its key");
  }

  @Test
  void cancellingARunningPythonJobStopsItsHandler() throws Exception {
    String type = newType("py");
    Process python = python(type, "python");
    awaitServed(type, python, dir.resolve("python.log"));
    String id =
        user.submit("{\"type\":\"" + type + "\",\"request\":{\"steps\":600,\"sleep_ms\":100}}");
    Eventually.await(
        "running",
        Duration.ofSeconds(20),
        () -> user.get("/v1/jobs/" + id).json().get("status").asText().equals("running"));
    assertEquals(202, user.post("/v1/jobs/" + id + "/cancel", "").status());
    JsonNode job = spool.awaitEnd(id, user);
    assertEquals("cancelled", job.get("status").asText(), job.toString());
    try {
      Eventually.await(
          "the handler saw its cancellation",
          Duration.ofSeconds(10),
          () -> read(dir.resolve("cancelled-" + type)).contains(id));
    } catch (AssertionError e) {
      throw new AssertionError(
          e.getMessage() + "; the worker's log:\n" + read(dir.resolve("python.log")), e);
    }
  }

  @Test
  void thePythonSdksOwnTestsPassAgainstThisGateway() throws Exception {
    Path log = dir.resolve("pytest.log");
    Process pytest =
        run(
            env("unused"),
            log,
            PYTHON,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "sdk/python/tests");
    assertTrue(pytest.waitFor(5, TimeUnit.MINUTES), "pytest finished");
    String out = read(log);
    System.out.println(out);
    assertEquals(0, pytest.exitValue(), out);
  }

  @Test
  void theTypescriptSdksOwnTestsPassAgainstThisGateway() throws Exception {
    Path log = dir.resolve("node-test.log");
    Process test = run(env("unused"), log, "npm", "test", "--prefix", "sdk/typescript");
    assertTrue(test.waitFor(5, TimeUnit.MINUTES), "npm test finished");
    String out = read(log);
    System.out.println(out);
    assertEquals(0, test.exitValue(), out);
  }
}
