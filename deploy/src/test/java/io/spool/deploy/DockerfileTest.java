package io.spool.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.spool.deploy.Dockerfile.Instruction;
import io.spool.deploy.Dockerfile.Stage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * deploy/Dockerfile: one Maven build stage, a JRE runtime, and the final targets gateway and
 * worker.
 */
class DockerfileTest {
  static final Dockerfile DOCKERFILE = Dockerfile.read(DeployFiles.DEPLOY.resolve("Dockerfile"));

  /** Each final target, and the setting that holds the port it serves /health/* on. */
  static final Map<String, String> TARGET_PORT_SETTING =
      Map.of("gateway", "SPOOL_HTTP_PORT", "worker", "SPOOL_METRICS_PORT");

  /** The image's JVM flags: what its ENTRYPOINT passes to java before the class path. */
  static List<String> jvmFlags(String target) {
    List<String> entrypoint = entrypoint(target);
    return entrypoint.subList(1, entrypoint.indexOf("-cp"));
  }

  /** The percentage of the container's memory limit the image gives the heap. */
  static double maxRamPercentage() {
    return jvmFlags("worker").stream()
        .filter(flag -> flag.startsWith("-XX:MaxRAMPercentage="))
        .map(flag -> Double.parseDouble(flag.substring(flag.indexOf('=') + 1)))
        .findFirst()
        .orElseGet(() -> fail("the worker image's java has no -XX:MaxRAMPercentage"));
  }

  /** The uid the images run as. */
  static long uid(String target) {
    String user =
        DOCKERFILE
            .effective(target, "USER")
            .orElseGet(() -> fail(target + " sets no USER"))
            .arguments();
    return Long.parseLong(user.split(":")[0]);
  }

  private static List<String> entrypoint(String target) {
    Instruction entrypoint =
        DOCKERFILE
            .effective(target, "ENTRYPOINT")
            .orElseGet(() -> fail(target + " has no ENTRYPOINT"));
    return Dockerfile.execForm(entrypoint)
        .orElseGet(
            () ->
                fail(
                    target
                        + "'s ENTRYPOINT is in shell form: "
                        + "a shell as PID 1 does not pass SIGTERM on, so workers would be killed instead of draining"));
  }

  @Test
  void imagesAreBuiltInStagesFromOneMavenBuild() {
    List<Stage> stages = DOCKERFILE.stages();
    assertTrue(
        stages.size() >= 3, "expected a build stage and the gateway and worker targets: " + stages);
    Stage build = stages.getFirst();
    assertTrue(
        build.from().startsWith("maven:") && build.from().contains("temurin-21"),
        "the build stage should start from a Maven + Temurin 21 image, not " + build.from());
    assertTrue(
        build.instructions().stream()
            .anyMatch(
                i ->
                    i.keyword().equals("RUN")
                        && i.arguments().contains("./mvnw")
                        && i.arguments().contains("-DskipTests")
                        && i.arguments().contains("package")),
        "the build stage should run ./mvnw -DskipTests package");
    for (String target : TARGET_PORT_SETTING.keySet()) {
      assertTrue(DOCKERFILE.stage(target).isPresent(), "no final target named " + target);
      boolean copiesJars =
          DOCKERFILE.all(target, "COPY").stream()
              .anyMatch(
                  i ->
                      i.arguments().contains("--from=" + build.name())
                          && i.arguments().contains("launcher/target/lib"));
      assertTrue(
          copiesJars,
          target + " should copy the runtime jars from the build stage's launcher/target/lib");
      assertFalse(
          List.of("maven", "jdk").stream().anyMatch(word -> baseImage(target).contains(word)),
          target + " should run on a JRE image, not " + baseImage(target));
    }
  }

  @Test
  void gatewayAndWorkerRunJavaAsANonRootUserInExecForm() {
    for (String target : TARGET_PORT_SETTING.keySet()) {
      String user =
          DOCKERFILE
              .effective(target, "USER")
              .orElseGet(() -> fail(target + " sets no USER"))
              .arguments();
      String who = user.split(":")[0];
      assertFalse(who.equals("root") || who.equals("0"), target + " runs as root: USER " + user);
      assertTrue(
          who.matches("\\d+"),
          target + "'s USER should be numeric, so Kubernetes' runAsNonRoot can check it: " + user);

      List<String> entrypoint = entrypoint(target);
      assertEquals(
          "java",
          entrypoint.getFirst(),
          target + "'s ENTRYPOINT should start java itself: " + entrypoint);
      assertEquals(
          "/app/lib/*", entrypoint.get(entrypoint.indexOf("-cp") + 1), target + "'s class path");
      assertEquals("io.spool.launcher.SpoolCli", entrypoint.getLast(), target + "'s main class");
      assertTrue(
          jvmFlags(target).stream().anyMatch(f -> f.startsWith("-XX:MaxRAMPercentage=")),
          target + " should size its heap from the container's memory limit: " + entrypoint);
      assertTrue(
          jvmFlags(target).contains("-XX:+ExitOnOutOfMemoryError"),
          target + " should exit on OutOfMemoryError so it is restarted: " + entrypoint);

      Instruction cmd =
          DOCKERFILE.effective(target, "CMD").orElseGet(() -> fail(target + " has no CMD"));
      assertEquals(
          List.of(target), Dockerfile.execForm(cmd).orElse(null), target + "'s default subcommand");
    }
  }

  @Test
  void eachTargetExposesAndHealthChecksItsOwnPort() {
    TARGET_PORT_SETTING.forEach(
        (target, setting) -> {
          String port = DeployFiles.readmeDefault(setting);
          assertEquals(
              List.of(port),
              DOCKERFILE.all(target, "EXPOSE").stream().map(Instruction::arguments).toList(),
              target + " should expose " + setting + "'s default");
          String check =
              DOCKERFILE
                  .effective(target, "HEALTHCHECK")
                  .orElseGet(() -> fail(target + " has no HEALTHCHECK"))
                  .arguments();
          assertTrue(
              check.contains("${" + setting + ":-" + port + "}/health/ready"),
              target
                  + "'s HEALTHCHECK should ask /health/ready on ${"
                  + setting
                  + ":-"
                  + port
                  + "}: "
                  + check);
        });
  }

  @Test
  void imageJvmFlagsAreAcceptedByJava() {
    // A misspelt -XX flag stops the JVM before Spool starts: try the flags on this JDK.
    Set<String> flags = new java.util.LinkedHashSet<>();
    TARGET_PORT_SETTING.keySet().forEach(target -> flags.addAll(jvmFlags(target)));
    var command = new ArrayList<String>();
    command.add(Tools.java());
    command.addAll(flags);
    command.add("-version");
    Tools.assertPasses(command.toArray(String[]::new));
  }

  @Test
  void dockerignoreKeepsBuildOutputAndLocalStateOutOfTheContext() {
    List<String> patterns =
        DeployFiles.text(DeployFiles.ROOT.resolve(".dockerignore"))
            .lines()
            .map(String::strip)
            .filter(line -> !line.isEmpty() && !line.startsWith("#"))
            .toList();
    for (String needed : List.of("target", ".git", ".spool", "node_modules")) {
      assertTrue(
          patterns.stream()
              .anyMatch(
                  p ->
                      Stream.of(needed, needed + "/", "**/" + needed, "**/" + needed + "/")
                          .anyMatch(p::equals)),
          ".dockerignore should leave out " + needed + ": " + patterns);
    }
  }

  private static String baseImage(String target) {
    String from = DOCKERFILE.stage(target).orElseThrow().from();
    while (DOCKERFILE.stage(from).isPresent()) {
      from = DOCKERFILE.stage(from).orElseThrow().from();
    }
    return from;
  }
}
