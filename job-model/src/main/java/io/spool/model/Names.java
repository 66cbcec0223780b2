package io.spool.model;

import java.util.regex.Pattern;

/** The safe alphabets for names that end up in Redis keys, SQL values and URLs. */
public final class Names {
  /** Queue names: 1–64 of letters, digits, '.', '_' and '-', starting with a letter or digit. */
  public static final Pattern QUEUE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  /** Job types: like queue names. */
  public static final Pattern JOB_TYPE = QUEUE;
  /** Redis key prefixes: no braces, so the prefix can be a hash tag. */
  public static final Pattern KEY_PREFIX = Pattern.compile("[A-Za-z0-9._:-]{1,64}");
  /** Postgres schema names we accept: lower-case identifiers that need no quoting. */
  public static final Pattern PG_SCHEMA = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

  public static final String DEFAULT_QUEUE = "default";

  private Names() {}
}
