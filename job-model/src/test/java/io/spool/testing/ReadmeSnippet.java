package io.spool.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The README's code snippets are copies of compiled code: this reads both sides, for a test to
 * compare.
 */
public final class ReadmeSnippet {
  private ReadmeSnippet() {}

  /**
   * The first {@code ```java} block after the README heading {@code heading} (e.g. "## Job types").
   */
  public static String inReadme(Path readme, String heading) throws IOException {
    String text = Files.readString(readme);
    int section = text.indexOf("\n" + heading + "\n");
    if (section < 0) {
      throw new AssertionError("README has no '" + heading + "' section");
    }
    int start = text.indexOf("```java\n", section) + "```java\n".length();
    return text.substring(start, text.indexOf("```", start));
  }

  /**
   * The lines of {@code source} between {@code // tag::readme[]} and {@code // end::readme[]}, with
   * the markers' own indentation taken off.
   */
  public static String tagged(Path source) throws IOException {
    List<String> lines = Files.readAllLines(source);
    int begin = indexOfMarker(lines, "// tag::readme[]");
    int end = indexOfMarker(lines, "// end::readme[]");
    int indent = lines.get(begin).indexOf("//");
    var snippet = new StringBuilder();
    for (String line : lines.subList(begin + 1, end)) {
      snippet
          .append(
              line.length() >= indent && line.substring(0, indent).isBlank()
                  ? line.substring(indent)
                  : line)
          .append('\n');
    }
    return snippet.toString();
  }

  private static int indexOfMarker(List<String> lines, String marker) {
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).strip().equals(marker)) {
        return i;
      }
    }
    throw new AssertionError("no '" + marker + "' line");
  }
}
