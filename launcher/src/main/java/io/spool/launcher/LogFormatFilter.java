package io.spool.launcher;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.filter.Filter;
import ch.qos.logback.core.spi.FilterReply;

/**
 * Lets an appender write only when {@code SPOOL_LOG_FORMAT} names its format, so logback.xml can
 * declare both the text and the JSON appender and reference both (an unreferenced appender makes
 * logback print its whole start-up status).
 */
public final class LogFormatFilter extends Filter<ILoggingEvent> {
  private boolean chosen;

  /** The format this appender writes: {@code text} or {@code json}. */
  public void setFormat(String format) {
    String setting = System.getenv("SPOOL_LOG_FORMAT");
    chosen = format.equals(setting == null || setting.isBlank() ? "text" : setting.trim());
  }

  @Override
  public FilterReply decide(ILoggingEvent event) {
    return chosen ? FilterReply.NEUTRAL : FilterReply.DENY;
  }
}
