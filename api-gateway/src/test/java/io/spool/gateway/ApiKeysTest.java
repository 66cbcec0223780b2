package io.spool.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spool.config.ConfigException;
import io.spool.config.SpoolConfig.Auth;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ApiKeysTest {
  @Test
  void keysFromTheSettingAndTheFileNameTheirUsers() throws Exception {
    Path file = Files.createTempFile("spool-keys", ".txt");
    Files.writeString(
        file,
        "# rotated in March\nfile-key-0123456789abcdef = carol\n\n  old-key-0123456789abcdef=carol\n");
    var keys =
        ApiKeys.load(new Auth(List.of("alice-key-0123456789abcdef=alice"), file.toString(), false));
    assertEquals("alice", keys.identify("alice-key-0123456789abcdef"));
    assertEquals("carol", keys.identify("file-key-0123456789abcdef"));
    assertEquals("carol", keys.identify("old-key-0123456789abcdef"));
    assertNull(keys.identify("alice-key-0123456789abcdeF"));
    assertNull(keys.identify(""));
    assertFalse(keys.disabled());
  }

  @Test
  void badEntriesAreReportedByPlaceNeverByKey() {
    var error =
        assertThrows(
            ConfigException.class,
            () ->
                ApiKeys.load(
                    new Auth(
                        List.of(
                            "short=alice",
                            "long-enough-key-0123=bad user!",
                            "no-user-given-0123456789",
                            "twice-key-0123456789=a",
                            "twice-key-0123456789=b"),
                        "/nonexistent/keys",
                        false)));
    String message = error.getMessage();
    assertTrue(
        message.contains(
            "SPOOL_API_KEYS entry 1 must be key=user, with a key of at least 16 characters"),
        message);
    assertTrue(message.contains("SPOOL_API_KEYS entry 2: the user must be"), message);
    assertTrue(message.contains("SPOOL_API_KEYS entry 3 must be key=user"), message);
    assertTrue(message.contains("SPOOL_API_KEYS entry 5 repeats a key"), message);
    assertTrue(message.contains("SPOOL_API_KEYS_FILE /nonexistent/keys cannot be read"), message);
    for (String secret : List.of("short", "long-enough-key-0123", "no-user-given", "twice-key")) {
      assertFalse(message.contains(secret), "the message shows no key: " + message);
    }
  }

  @Test
  void noKeysIsRefusedUnlessAuthIsSwitchedOffOnPurpose() {
    var error =
        assertThrows(ConfigException.class, () -> ApiKeys.load(new Auth(List.of(), null, false)));
    assertTrue(error.getMessage().contains("SPOOL_AUTH=none"), error.getMessage());
    assertTrue(ApiKeys.load(new Auth(List.of(), null, true)).disabled());
  }
}
