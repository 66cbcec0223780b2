package io.spool.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import org.junit.jupiter.api.Test;

/**
 * The processes ask Vert.x for the native transport: on Linux x86-64 the epoll jar the launcher
 * ships must load (a Netty version that no longer matches Vert.x's would fall back to NIO without a
 * word), and anywhere else Vert.x falls back to NIO and still starts.
 */
class NativeTransportTest {
  @Test
  void epollIsUsedOnLinuxX8664AndNioElsewhere() {
    boolean linuxX8664 =
        System.getProperty("os.name").equals("Linux")
            && System.getProperty("os.arch").equals("amd64");
    Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
    try {
      assertEquals(
          linuxX8664,
          vertx.isNativeTransportEnabled(),
          String.valueOf(vertx.unavailableNativeTransportCause()));
    } finally {
      vertx.close().await();
    }
  }
}
