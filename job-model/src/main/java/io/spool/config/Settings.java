package io.spool.config;

import java.net.URI;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * Reads {@code SPOOL_*} variables, collecting every problem so start-up reports them all at once.
 */
final class Settings {
  private final Map<String, String> env;
  private final List<String> problems = new ArrayList<>();

  Settings(Map<String, String> env) {
    this.env = env;
  }

  private String raw(String name) {
    String value = env.get(name);
    return value == null || value.isBlank() ? null : value.trim();
  }

  String string(String name, String fallback, Pattern shape, String shapeHint) {
    String value = raw(name);
    if (value == null) {
      return fallback;
    }
    if (!shape.matcher(value).matches()) {
      problems.add(name + "=" + value + " is not valid: " + shapeHint);
      return fallback;
    }
    return value;
  }

  int integer(IntSetting setting) {
    return integer(setting.name(), setting.defaultValue(), setting.min(), setting.max());
  }

  int integer(String name, int fallback, int min, int max) {
    String value = raw(name);
    if (value == null) {
      return fallback;
    }
    try {
      int parsed = Integer.parseInt(value);
      if (parsed < min || parsed > max) {
        problems.add(name + "=" + value + " is out of range: expected " + min + ".." + max);
        return fallback;
      }
      return parsed;
    } catch (NumberFormatException e) {
      problems.add(name + "=" + value + " is not a whole number");
      return fallback;
    }
  }

  /** A URL whose scheme is one of {@code schemes}; reported without its password. */
  String url(String name, String fallback, String... schemes) {
    String value = raw(name);
    if (value == null) {
      return fallback;
    }
    String checked = checkedUrl(value, name, fallback, schemes);
    return checked == null ? fallback : checked;
  }

  /** {@code value} if it is a URL with one of {@code schemes}, else null and a problem. */
  private String checkedUrl(String value, String name, String fallback, String... schemes) {
    String example = fallback != null ? fallback : schemes[0] + "://host:port/path";
    try {
      URI uri = URI.create(value);
      if (uri.getScheme() == null
          || Arrays.stream(schemes).noneMatch(uri.getScheme()::equals)
          || uri.getHost() == null) {
        problems.add(
            name
                + " must be a URL like "
                + example
                + " (scheme "
                + String.join(" or ", schemes)
                + ")");
        return null;
      }
      return value;
    } catch (IllegalArgumentException e) {
      problems.add(name + " is not a valid URL (expected the form " + example + ")");
      return null;
    }
  }

  /**
   * Comma-separated URLs, each with one of {@code schemes}; {@code fallback} if unset. Each is
   * reported without its password.
   */
  List<String> urls(String name, String fallback, String... schemes) {
    String value = raw(name);
    if (value == null) {
      return List.of(fallback);
    }
    var urls = new ArrayList<String>();
    int index = 0;
    for (String part : value.split(",")) {
      index++;
      String item = part.trim();
      if (item.isEmpty()) {
        continue;
      }
      String checked = checkedUrl(item, name + " (entry " + index + ")", fallback, schemes);
      if (checked != null) {
        urls.add(checked);
      }
    }
    if (urls.isEmpty()) {
      problems.add(name + " lists no URL");
      return List.of(fallback);
    }
    return urls;
  }

  List<String> list(String name, List<String> fallback, Predicate<String> valid, String itemHint) {
    String value = raw(name);
    if (value == null) {
      return fallback;
    }
    List<String> items =
        Arrays.stream(value.split(","))
            .map(String::trim)
            .filter(s -> !s.isEmpty())
            .distinct()
            .toList();
    if (items.isEmpty()) {
      problems.add(name + " lists nothing");
      return fallback;
    }
    for (String item : items) {
      if (!valid.test(item)) {
        problems.add(name + " has an invalid entry '" + item + "': " + itemHint);
      }
    }
    return items;
  }

  /**
   * Comma-separated secrets, each at least {@code minLength} characters; never echoed in problems.
   */
  List<String> secrets(String name, int minLength) {
    String value = raw(name);
    if (value == null) {
      return List.of();
    }
    List<String> secrets =
        Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    for (int i = 0; i < secrets.size(); i++) {
      if (secrets.get(i).length() < minLength) {
        problems.add(
            name
                + ": secret "
                + (i + 1)
                + " of "
                + secrets.size()
                + " is shorter than "
                + minLength
                + " characters");
      }
    }
    return secrets;
  }

  /** A secret such as an API key: trimmed, never echoed in a problem. */
  String secret(String name) {
    return raw(name);
  }

  void problem(String text) {
    problems.add(text);
  }

  void check() {
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
  }
}
