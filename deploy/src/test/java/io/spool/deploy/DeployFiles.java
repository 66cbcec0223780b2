package io.spool.deploy;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Where the deployment files are, and their contents: YAML as trees, the README's Settings table.
 */
final class DeployFiles {
  /**
   * The deploy module's folder (Maven runs tests there; an IDE may run them from the repository).
   */
  static final Path DEPLOY = locate();

  static final Path ROOT = DEPLOY.getParent();

  private static final Map<Path, List<JsonNode>> DOCUMENTS = new ConcurrentHashMap<>();
  private static final Pattern SETTING_ROW =
      Pattern.compile("^\\| `(SPOOL_[A-Z0-9_]+)` \\| ([^|]*) \\|");

  private DeployFiles() {}

  private static Path locate() {
    Path here = Path.of("").toAbsolutePath();
    Path deploy = Files.exists(here.resolve("compose.yaml")) ? here : here.resolve("deploy");
    assertTrue(Files.exists(deploy.resolve("compose.yaml")), "cannot find deploy/ from " + here);
    return deploy;
  }

  /**
   * Every file under deploy/ that is a deployment artefact: not build output, not this module's
   * sources.
   */
  static List<Path> artefacts() {
    try (Stream<Path> files = Files.walk(DEPLOY)) {
      List<Path> found =
          files
              .filter(Files::isRegularFile)
              .filter(
                  file ->
                      !file.startsWith(DEPLOY.resolve("target"))
                          && !file.startsWith(DEPLOY.resolve("src")))
              .filter(file -> !file.equals(DEPLOY.resolve("pom.xml")))
              .sorted()
              .toList();
      assertFalse(found.isEmpty(), "no files under " + DEPLOY);
      return found;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static List<Path> yamlFiles() {
    return artefacts().stream().filter(file -> file.toString().matches(".*\\.ya?ml")).toList();
  }

  /** The documents of a YAML file under deploy/, e.g. {@code documents("k8s/worker.yaml")}. */
  static List<JsonNode> documents(String relative) {
    return documents(DEPLOY.resolve(relative));
  }

  static List<JsonNode> documents(Path file) {
    return DOCUMENTS.computeIfAbsent(
        file,
        f -> {
          try {
            return YamlDocuments.read(f);
          } catch (IOException e) {
            throw new UncheckedIOException(
                DEPLOY.relativize(f) + " does not parse: " + e.getMessage(), e);
          }
        });
  }

  /** The one document of a single-document file. */
  static JsonNode document(String relative) {
    List<JsonNode> documents = documents(relative);
    if (documents.size() != 1) {
      fail(relative + " should hold one YAML document, not " + documents.size());
    }
    return documents.getFirst();
  }

  static String text(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The README's Settings table: each {@code SPOOL_*} variable and its default as written there,
   * backticks removed ({@code 30}, {@code spool}, {@code none}, {@code number of cores}).
   */
  static Map<String, String> readmeSettings() {
    String readme = text(ROOT.resolve("README.md"));
    int start = readme.indexOf("\n## Settings");
    assertTrue(start >= 0, "README.md has no '## Settings' section");
    int end = readme.indexOf("\n## ", start + 1);
    var settings = new LinkedHashMap<String, String>();
    for (String line : readme.substring(start, end < 0 ? readme.length() : end).split("\n")) {
      Matcher row = SETTING_ROW.matcher(line);
      if (row.find()) {
        settings.put(row.group(1), row.group(2).strip().replace("`", ""));
      }
    }
    assertFalse(settings.isEmpty(), "README.md's Settings section has no | `SPOOL_...` | rows");
    return settings;
  }

  /** A setting's default from the README, for a setting a deployment file leaves unset. */
  static String readmeDefault(String setting) {
    String value = readmeSettings().get(setting);
    if (value == null) {
      fail(setting + " is not in the README's Settings table");
    }
    return value;
  }
}
