package io.spool.deploy;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Checks that hold for every file under deploy/, whatever it deploys. */
class YamlFilesTest {
  private static final Pattern SETTING = Pattern.compile("\\bSPOOL_[A-Z][A-Z0-9_]*[A-Z0-9]\\b");

  @Test
  void everyYamlDocumentParses() {
    List<Path> files = DeployFiles.yamlFiles();
    assertTrue(
        files.size() >= 10,
        "expected the compose file, the manifests and the Prometheus files, found " + files);
    var problems = new ArrayList<String>();
    int documents = 0;
    for (Path file : files) {
      try {
        List<JsonNode> read = DeployFiles.documents(file);
        documents += read.size();
        if (read.isEmpty()) {
          problems.add(DeployFiles.DEPLOY.relativize(file) + " holds no YAML document");
        }
      } catch (UncheckedIOException e) {
        problems.add(e.getMessage());
      }
    }
    assertTrue(problems.isEmpty(), String.join("\n", problems));
    assertTrue(
        documents > files.size(), "multi-document files should count each document: " + documents);
  }

  @Test
  void everyYamlFilePassesYamllintStrictly() {
    // -s: warnings fail too. The rules (and why they are relaxed) are in deploy/.yamllint.yaml.
    Tools.assertPasses("yamllint", "-s", "-f", "parsable", "-c", ".yamllint.yaml", ".");
  }

  @Test
  void everySpoolSettingUsedIsInTheReadmeSettingsTable() {
    Set<String> documented = DeployFiles.readmeSettings().keySet();
    Set<String> undocumented = new TreeSet<>();
    for (Path file : DeployFiles.artefacts()) {
      Matcher m = SETTING.matcher(DeployFiles.text(file));
      while (m.find()) {
        if (!documented.contains(m.group())) {
          undocumented.add(m.group() + " (" + DeployFiles.DEPLOY.relativize(file) + ")");
        }
      }
    }
    assertTrue(
        undocumented.isEmpty(),
        "settings used under deploy/ but missing from the README's Settings table "
            + "(a typo, or a setting to document): "
            + undocumented);
  }
}
