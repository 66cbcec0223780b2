package io.spool.model;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Code cites the design notes by number; each cited note is in the repository, in
 * docs/architecture.md.
 */
class DesignNotesTest {
  private static final Path ROOT = Path.of("..");
  private static final Pattern CITATION =
      Pattern.compile("design note (\\d+)( in docs/architecture\\.md)?");

  @Test
  void everyCitedDesignNoteIsInTheArchitecturePage() throws IOException {
    String notes = Files.readString(ROOT.resolve("docs/architecture.md"));
    var problems = new ArrayList<String>();
    int citations = 0;
    try (Stream<Path> files = Files.walk(ROOT)) {
      for (Path file :
          files
              .filter(f -> f.toString().endsWith(".java") && f.toString().contains("/src/main/"))
              .toList()) {
        var matcher =
            CITATION.matcher(Files.readString(file).replaceAll("\\s*\\n\\s*\\*?\\s*", " "));
        while (matcher.find()) {
          citations++;
          if (matcher.group(2) == null) {
            problems.add(
                file
                    + ": '"
                    + matcher.group()
                    + "' should say where the note is (in docs/architecture.md)");
          }
          if (!notes.contains("\n### " + matcher.group(1) + ". ")) {
            problems.add(
                file
                    + ": cites design note "
                    + matcher.group(1)
                    + ", which docs/architecture.md does not have");
          }
        }
      }
    }
    assertFalse(citations == 0, "no citations found: is the walk looking in the right place?");
    assertTrue(problems.isEmpty(), String.join("\n", problems));
  }
}
