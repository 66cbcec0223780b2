package io.spool.gateway;

import io.spool.config.ConfigException;
import io.spool.config.SpoolConfig.Auth;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The API keys the gateway accepts and whom each names. Keys are kept only as SHA-256 digests, and
 * a presented key is found by its digest: what a lookup's timing could tell is about a digest,
 * which does not lead back to any key.
 */
final class ApiKeys {
  static final int MIN_KEY_LENGTH = 16;
  static final Pattern USER = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._@-]{0,63}");

  /** Every caller's user when keys are switched off. */
  static final String ANONYMOUS = "anonymous";

  /** Users by the SHA-256 digest (hex) of their keys. */
  private final Map<String, String> byDigest;

  private final boolean disabled;

  private ApiKeys(Map<String, String> byDigest, boolean disabled) {
    this.byDigest = Map.copyOf(byDigest);
    this.disabled = disabled;
  }

  /**
   * Reads the keys of {@code SPOOL_API_KEYS} and {@code SPOOL_API_KEYS_FILE}. Throws {@link
   * ConfigException} listing every bad entry (by position, never by its key), and when there is no
   * key at all unless {@code SPOOL_AUTH=none}.
   */
  static ApiKeys load(Auth auth) {
    var problems = new ArrayList<String>();
    var byDigest = read(auth.keys(), auth.keysFile(), "SPOOL_API_KEYS", problems);
    if (byDigest.isEmpty() && problems.isEmpty() && !auth.disabled()) {
      problems.add(
          "no API keys: set SPOOL_API_KEYS (key=user,key=user) or SPOOL_API_KEYS_FILE, or SPOOL_AUTH=none "
              + "to let anyone in as the user 'anonymous'");
    }
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    return new ApiKeys(byDigest, auth.disabled());
  }

  /**
   * The worker keys of {@code SPOOL_WORKER_KEYS} and {@code SPOOL_WORKER_KEYS_FILE}, naming remote
   * workers; none is allowed (no remote worker is let in). {@code disabled} as for user keys. A key
   * that is also a user key is refused: each key opens one side only.
   */
  static ApiKeys loadWorkerKeys(Auth auth, ApiKeys userKeys) {
    var problems = new ArrayList<String>();
    var byDigest = read(auth.workerKeys(), auth.workerKeysFile(), "SPOOL_WORKER_KEYS", problems);
    if (byDigest.keySet().stream().anyMatch(userKeys.byDigest::containsKey)) {
      problems.add(
          "a key in SPOOL_WORKER_KEYS is also a user key (SPOOL_API_KEYS): give each its own");
    }
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    return new ApiKeys(byDigest, auth.disabled());
  }

  /** The entries of a setting and of its {@code _FILE} setting, by digest. */
  private static Map<String, String> read(
      List<String> entries, String file, String setting, List<String> problems) {
    var byDigest = new HashMap<String, String>();
    for (int i = 0; i < entries.size(); i++) {
      add(entries.get(i), setting + " entry " + (i + 1), byDigest, problems);
    }
    if (file != null) {
      try {
        List<String> lines = Files.readAllLines(Path.of(file), StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
          String line = lines.get(i).strip();
          if (!line.isEmpty() && !line.startsWith("#")) {
            add(line, setting + "_FILE line " + (i + 1), byDigest, problems);
          }
        }
      } catch (IOException e) {
        problems.add(
            setting + "_FILE " + file + " cannot be read: " + e.getClass().getSimpleName());
      }
    }
    return byDigest;
  }

  /** Whether no key at all is configured (and keys are not switched off). */
  boolean none() {
    return byDigest.isEmpty() && !disabled;
  }

  private static void add(
      String entry, String where, Map<String, String> byDigest, List<String> problems) {
    int eq = entry.lastIndexOf('=');
    String key = eq < 0 ? "" : entry.substring(0, eq).strip();
    String user = eq < 0 ? "" : entry.substring(eq + 1).strip();
    if (key.length() < MIN_KEY_LENGTH) {
      problems.add(
          where + " must be key=user, with a key of at least " + MIN_KEY_LENGTH + " characters");
    } else if (!USER.matcher(user).matches()) {
      problems.add(where + ": the user must be 1-64 letters, digits, '.', '_', '@' or '-'");
    } else if (byDigest.putIfAbsent(digest(key), user) != null) {
      problems.add(where + " repeats a key given before");
    }
  }

  /** Whether keys are switched off ({@code SPOOL_AUTH=none}). */
  boolean disabled() {
    return disabled;
  }

  /** The user {@code key} names, or null if no one. */
  String identify(String key) {
    return byDigest.get(digest(key));
  }

  private static String digest(String key) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK lacks SHA-256", e);
    }
  }
}
