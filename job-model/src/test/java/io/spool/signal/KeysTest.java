package io.spool.signal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class KeysTest {
  @Test
  void slotsAreRedisClustersOwn() {
    // CLUSTER KEYSLOT answers these on any Redis Cluster.
    assertEquals(12182, Keys.slot("foo"));
    assertEquals(5061, Keys.slot("bar"));
    assertEquals(866, Keys.slot("hello"));
  }

  @Test
  void eachShardOfAQueueTakesItsOwnShareOfTheSlots() {
    for (int shards : List.of(2, 3, 5, 16)) {
      var keys = new Keys("acme:prod", shards, true);
      for (int shard = 0; shard < shards; shard++) {
        String tag = keys.queueTag("emails", shard);
        int slot = Keys.slot(tag.substring(1, tag.length() - 1));
        assertTrue(
            slot >= shard * Keys.SLOTS / shards && slot < (shard + 1) * Keys.SLOTS / shards,
            tag + " has slot " + slot);
        assertEquals(tag, Keys.tagOf(keys.delayed("emails", shard)).transform(t -> "{" + t + "}"));
      }
    }
    assertEquals("{spool/q/emails/0}", new Keys("spool").queueTag("emails", 0));
  }
}
