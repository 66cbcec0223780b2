package io.spool.config;

import java.net.BindException;

/**
 * Start-up refused because another process on this host holds a port Spool was told to listen on.
 * The JDK says only "Address already in use"; this says which port, and which setting to change.
 */
public final class PortInUseException extends RuntimeException {
  private PortInUseException(String message, Throwable cause) {
    super(message, cause);
  }

  /**
   * {@code failure} as a {@code PortInUseException} if it (or a cause) is the bind failure of a
   * port held by another process; any other failure unchanged.
   *
   * @param setting the setting that chose the port, e.g. {@code SPOOL_METRICS_PORT}
   * @param zeroPicksFree whether the setting takes 0 for "any free port", which the message then
   *     offers
   */
  public static Throwable explain(
      Throwable failure, String setting, int port, boolean zeroPicksFree) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      // Java NIO throws a BindException; Netty's epoll transport an IOException of its own
      // ("bind(..) failed with error(-98): Address already in use").
      String message = String.valueOf(t.getMessage());
      if ((t instanceof BindException && message.contains("in use"))
          || (t instanceof java.io.IOException && message.contains("Address already in use"))) {
        return new PortInUseException(
            setting
                + " "
                + port
                + " is already in use on this host; set "
                + setting
                + " to a free port"
                + (zeroPicksFree ? ", or 0 to pick one" : ""),
            failure);
      }
    }
    return failure;
  }
}
