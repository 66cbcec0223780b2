package io.spool.model;

import java.util.regex.Pattern;

/** The safe alphabets for names that end up in Redis keys, SQL values and URLs. */
public final class Names {
  /** Queue names and job types: {@link #NAME_RULE}. */
  public static final Pattern QUEUE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

  public static final Pattern JOB_TYPE = QUEUE;
  public static final String NAME_RULE =
      "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit";

  /** Redis key prefixes: no braces, so the prefix can be a hash tag. */
  public static final Pattern KEY_PREFIX = Pattern.compile("[A-Za-z0-9._:-]{1,64}");

  public static final String KEY_PREFIX_RULE = "1-64 letters, digits, '.', '_', ':' or '-'";

  /** Postgres schema names we accept: lower-case identifiers that need no quoting. */
  public static final Pattern PG_SCHEMA = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

  /** Host names and IP literals in allow-lists; {@code *.domain} for a whole domain. */
  public static final Pattern HOST = Pattern.compile("(\\*\\.)?[A-Za-z0-9._:\\[\\]-]{1,253}");

  public static final String DEFAULT_QUEUE = "default";

  private Names() {}
}
