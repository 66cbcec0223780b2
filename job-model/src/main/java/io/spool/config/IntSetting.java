package io.spool.config;

/**
 * One whole-number {@code SPOOL_*} setting: its variable, the value it takes when unset, and the
 * range a value must lie in ({@code min..max}, both included).
 */
public record IntSetting(String name, int defaultValue, int min, int max) {
  public IntSetting {
    if (defaultValue < min || defaultValue > max) {
      throw new IllegalArgumentException(
          name + "'s default " + defaultValue + " is outside its range " + min + ".." + max);
    }
  }
}
