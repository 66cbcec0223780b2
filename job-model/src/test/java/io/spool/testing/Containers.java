package io.spool.testing;

import java.net.URI;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;

/** Testcontainers, for machines with Docker but without local Redis or Postgres. */
final class Containers {
  private Containers() {}

  static boolean dockerAvailable() {
    try {
      return DockerClientFactory.instance().isDockerAvailable();
    } catch (RuntimeException | LinkageError e) {
      return false;
    }
  }

  /**
   * Starts the image (left running until the JVM exits) and answers {@code localUrl} re-pointed at
   * it.
   */
  @SuppressWarnings("resource")
  static String start(String image, int port, String localUrl) {
    var container =
        new GenericContainer<>(image)
            .withExposedPorts(port)
            .withEnv("POSTGRES_HOST_AUTH_METHOD", "trust");
    container.start();
    URI local = URI.create(localUrl);
    return local.getScheme()
        + "://"
        + (local.getUserInfo() == null ? "" : local.getUserInfo() + "@")
        + container.getHost()
        + ":"
        + container.getMappedPort(port)
        + (local.getPath() == null ? "" : local.getPath());
  }
}
