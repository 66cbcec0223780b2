package io.spool.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * job-model keeps one package per role, each saying what it holds, and the README's table lists
 * them all.
 */
class PackageLayoutTest {
  private static final Path SOURCES = Path.of("src/main/java/io/spool");

  private static List<Path> packages() throws IOException {
    try (Stream<Path> dirs = Files.list(SOURCES)) {
      return dirs.filter(Files::isDirectory).sorted().toList();
    }
  }

  @Test
  void everyPackageSaysWhatLivesThereAndWhoUsesIt() throws IOException {
    for (Path dir : packages()) {
      Path info = dir.resolve("package-info.java");
      assertTrue(Files.exists(info), dir + " has no package-info.java");
      String text = Files.readString(info);
      assertTrue(
          text.startsWith("/**") && text.contains("package io.spool." + dir.getFileName() + ";"),
          info + " should open with a Javadoc comment and declare its package");
    }
  }

  @Test
  void theReadmesPackageTableListsEveryPackage() throws IOException {
    String readme = Files.readString(Path.of("../README.md"));
    var listed = new TreeSet<String>();
    readme
        .lines()
        .filter(line -> line.startsWith("io.spool."))
        .forEach(line -> listed.add(line.substring("io.spool.".length()).split("\\s+")[0]));
    var present = new TreeSet<String>();
    for (Path dir : packages()) {
      present.add(dir.getFileName().toString());
    }
    assertEquals(present, listed, "the README's job-model package table and the packages differ");
  }
}
