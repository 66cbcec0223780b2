package io.spool.deploy;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Dockerfile read into its stages and instructions, enough to ask what a final target ends up
 * with: an instruction a stage lacks is inherited from the stage it is built FROM, as Docker does.
 */
final class Dockerfile {
  record Instruction(String keyword, String arguments) {}

  /** A stage: its name (or index), the image or stage it starts FROM, and its instructions. */
  record Stage(String name, String from, List<Instruction> instructions) {}

  private static final Pattern FROM =
      Pattern.compile("(?i)(?:--platform=\\S+\\s+)?(\\S+)(?:\\s+AS\\s+(\\S+))?");
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Map<String, Stage> stages = new LinkedHashMap<>();

  /** ARGs declared before the first FROM, with their defaults: what FROM lines may use. */
  private final Map<String, String> globalArgs = new LinkedHashMap<>();

  private Dockerfile() {}

  static Dockerfile read(Path file) {
    var dockerfile = new Dockerfile();
    List<Instruction> current = null;
    StringBuilder logical = new StringBuilder();
    for (String line : DeployFiles.text(file).split("\n")) {
      String stripped = line.strip();
      if (stripped.startsWith("#") || (stripped.isEmpty() && logical.isEmpty())) {
        continue; // comments may sit between continued lines, and are dropped there too
      }
      if (stripped.endsWith("\\")) {
        logical.append(stripped, 0, stripped.length() - 1).append(' ');
        continue;
      }
      logical.append(stripped);
      String[] parts = logical.toString().strip().split("\\s+", 2);
      logical.setLength(0);
      if (parts[0].isEmpty()) {
        continue;
      }
      var instruction =
          new Instruction(parts[0].toUpperCase(Locale.ROOT), parts.length > 1 ? parts[1] : "");
      if (instruction.keyword().equals("FROM")) {
        Matcher from = FROM.matcher(instruction.arguments());
        if (!from.matches()) {
          throw new IllegalArgumentException("cannot read FROM " + instruction.arguments());
        }
        String name =
            from.group(2) != null ? from.group(2) : String.valueOf(dockerfile.stages.size());
        current = new ArrayList<>();
        dockerfile.stages.put(
            name, new Stage(name, dockerfile.substituteArgs(from.group(1)), current));
      } else if (current != null) {
        current.add(instruction);
      } else if (instruction.keyword().equals("ARG")) {
        String[] arg = instruction.arguments().split("=", 2);
        dockerfile.globalArgs.put(arg[0].strip(), arg.length > 1 ? arg[1].strip() : "");
      }
    }
    return dockerfile;
  }

  private String substituteArgs(String image) {
    for (Map.Entry<String, String> arg : globalArgs.entrySet()) {
      image =
          image
              .replace("${" + arg.getKey() + "}", arg.getValue())
              .replace("$" + arg.getKey(), arg.getValue());
    }
    return image;
  }

  List<Stage> stages() {
    return List.copyOf(stages.values());
  }

  Optional<Stage> stage(String name) {
    return Optional.ofNullable(stages.get(name));
  }

  /**
   * The last {@code keyword} instruction in effect for a target: its own, else its base stage's,
   * and so on.
   */
  Optional<Instruction> effective(String target, String keyword) {
    for (Stage stage = stages.get(target); stage != null; stage = stages.get(stage.from())) {
      for (Instruction instruction : stage.instructions().reversed()) {
        if (instruction.keyword().equals(keyword)) {
          return Optional.of(instruction);
        }
      }
    }
    return Optional.empty();
  }

  /**
   * Every {@code keyword} instruction of a target and the stages it builds on, base stages first.
   */
  List<Instruction> all(String target, String keyword) {
    var chain = new ArrayList<Stage>();
    for (Stage stage = stages.get(target); stage != null; stage = stages.get(stage.from())) {
      chain.addFirst(stage);
    }
    return chain.stream()
        .flatMap(stage -> stage.instructions().stream())
        .filter(instruction -> instruction.keyword().equals(keyword))
        .toList();
  }

  /** An exec-form (JSON array) argument list, or empty for the shell form. */
  static Optional<List<String>> execForm(Instruction instruction) {
    String arguments = instruction.arguments().strip();
    if (!arguments.startsWith("[")) {
      return Optional.empty();
    }
    try {
      return Optional.of(JSON.readValue(arguments, new TypeReference<List<String>>() {}));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new UncheckedIOException("not a JSON array: " + arguments, e);
    }
  }
}
