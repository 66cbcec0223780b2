package io.spool.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spool.store.PgClients;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SpoolConfigTest {
  @Test
  void defaultsPointAtTheLocalServices() {
    var config = SpoolConfig.fromEnv(Map.of());
    assertEquals("postgresql://postgres@127.0.0.1:5432/postgres", config.pg().url());
    assertEquals("redis://127.0.0.1:6379", config.redis().url());
    assertEquals(8080, config.gateway().port());
    assertEquals(10, config.worker().concurrency());
    assertEquals(3, config.jobs().maxAttempts());
    assertEquals(List.of("default"), config.worker().queues());
    assertEquals("{spool/q/default/0}:t:echo", config.keys().queueStream("default", "echo"));
    assertEquals(
        "{spool/q/default/0}:t:echo:high", config.keys().queueStream("default", 0, "echo", 5));
    assertEquals(SpoolConfig.RedisMode.STANDALONE, config.redis().mode());
    assertEquals(1, config.redis().queueShards());
    assertEquals(List.of(), config.worker().types());
  }

  @Test
  void readsEverySetting() {
    var config =
        SpoolConfig.fromEnv(
            Map.of(
                "SPOOL_QUEUES",
                "a, b,a",
                "SPOOL_WORKER_CONCURRENCY",
                "500",
                "SPOOL_PG_URL",
                "postgres://u:secret@db:6432/jobs",
                "SPOOL_KEY_PREFIX",
                "acme:prod"));
    assertEquals(List.of("a", "b"), config.worker().queues());
    assertEquals(500, config.worker().concurrency());
    assertEquals("db", PgClients.connectOptions(config).getHost());
    assertEquals(6432, PgClients.connectOptions(config).getPort());
    assertEquals("{acme:prod/q/a/0}:t:llm", config.keys().queueStream("a", "llm"));
  }

  @Test
  void reportsEveryBadSettingAtOnceWithoutEchoingSecrets() {
    var error =
        assertThrows(
            ConfigException.class,
            () ->
                SpoolConfig.fromEnv(
                    Map.of(
                        "SPOOL_HTTP_PORT", "eighty",
                        "SPOOL_WORKER_CONCURRENCY", "0",
                        "SPOOL_QUEUES", "ok,not ok",
                        "SPOOL_KEY_PREFIX", "{tag}",
                        "SPOOL_PG_URL", "mysql://root:hunter2@db/x")));
    assertEquals(5, error.problems().size(), error.getMessage());
    assertTrue(error.getMessage().contains("SPOOL_HTTP_PORT=eighty is not a whole number"));
    assertTrue(error.getMessage().contains("SPOOL_WORKER_CONCURRENCY=0 is out of range"));
    assertTrue(error.getMessage().contains("'not ok'"));
    assertFalse(error.getMessage().contains("hunter2"), "the password is not echoed");
  }

  @Test
  void readsTheRedisDeployment() {
    var cluster =
        SpoolConfig.fromEnv(
            Map.of(
                "SPOOL_REDIS_MODE", "cluster",
                "SPOOL_REDIS_URL", "redis://:pw@n1:7000, rediss://n2:7001",
                "SPOOL_QUEUE_SHARDS", "3"));
    assertEquals(SpoolConfig.RedisMode.CLUSTER, cluster.redis().mode());
    assertEquals(List.of("redis://:pw@n1:7000", "rediss://n2:7001"), cluster.redis().urls());
    assertTrue(cluster.keys().cluster());
    assertEquals(3, cluster.keys().shardsOf(List.of("q")).size());
    var sentinel =
        SpoolConfig.fromEnv(
            Map.of(
                "SPOOL_REDIS_MODE", "sentinel",
                "SPOOL_REDIS_URL", "redis://s1:26379,redis://s2:26379",
                "SPOOL_REDIS_MASTER", "spool-main"));
    assertEquals("spool-main", sentinel.redis().master());
    assertFalse(sentinel.keys().cluster(), "one master holds every key");

    var error =
        assertThrows(
            ConfigException.class,
            () ->
                SpoolConfig.fromEnv(
                    Map.of(
                        "SPOOL_REDIS_MODE", "replicated",
                        "SPOOL_REDIS_URL", "redis://a:1,http://b:2",
                        "SPOOL_QUEUE_SHARDS", "0")));
    assertEquals(3, error.problems().size(), error.getMessage());
    assertTrue(error.getMessage().contains("standalone, cluster or sentinel"));
    assertTrue(error.getMessage().contains("SPOOL_REDIS_URL (entry 2)"));
    assertTrue(error.getMessage().contains("SPOOL_QUEUE_SHARDS=0 is out of range"));
    var twoServers =
        assertThrows(
            ConfigException.class,
            () -> SpoolConfig.fromEnv(Map.of("SPOOL_REDIS_URL", "redis://a:1,redis://b:2")));
    assertTrue(twoServers.getMessage().contains("a standalone Redis has one"));
  }

  @Test
  void spreadsJobsOverEveryShardAndKeepsEachShardInOneSlot() {
    var keys = new io.spool.signal.Keys("p", 3, true);
    var seen = new java.util.HashSet<Integer>();
    for (int i = 0; i < 100; i++) {
      seen.add(keys.shardOf(java.util.UUID.randomUUID()));
    }
    assertEquals(java.util.Set.of(0, 1, 2), seen);
    var streams = keys.queueStreams(List.of("a"), List.of("echo", "llm"));
    assertEquals(18, streams.size(), "3 bands x 3 shards x 2 types");
    var slots = keys.bySlot(streams);
    assertEquals(3, slots.size(), "one group per shard");
    String tag0 = keys.queueTag("a", 0);
    assertTrue(slots.get(0).stream().allMatch(s -> s.startsWith(tag0)), slots.toString());
    assertTrue(keys.delayed("a", 2).startsWith("{p/q/a/2."), keys.delayed("a", 2));
    assertEquals("{p/q/a/0}:t:echo", new io.spool.signal.Keys("p").queueStream("a", "echo"));
    assertEquals(List.of(streams), new io.spool.signal.Keys("p", 3, false).bySlot(streams));
  }

  @Test
  void heartbeatFollowsAShortVisibilityTimeoutUnlessSetItself() {
    assertEquals(Duration.ofSeconds(5), SpoolConfig.fromEnv(Map.of()).worker().heartbeatInterval());
    // A third of the timeout, at least a second, never above the default.
    assertEquals(
        Duration.ofSeconds(1),
        SpoolConfig.fromEnv(Map.of("SPOOL_VISIBILITY_TIMEOUT_SECS", "5"))
            .worker()
            .heartbeatInterval());
    assertEquals(
        Duration.ofSeconds(1),
        SpoolConfig.fromEnv(Map.of("SPOOL_VISIBILITY_TIMEOUT_SECS", "2"))
            .worker()
            .heartbeatInterval());
    assertEquals(
        Duration.ofSeconds(3),
        SpoolConfig.fromEnv(Map.of("SPOOL_VISIBILITY_TIMEOUT_SECS", "10"))
            .worker()
            .heartbeatInterval());
    assertEquals(
        Duration.ofSeconds(5),
        SpoolConfig.fromEnv(Map.of("SPOOL_VISIBILITY_TIMEOUT_SECS", "600"))
            .worker()
            .heartbeatInterval());
    var explicit =
        SpoolConfig.fromEnv(
            Map.of("SPOOL_VISIBILITY_TIMEOUT_SECS", "5", "SPOOL_HEARTBEAT_SECS", "4"));
    assertEquals(Duration.ofSeconds(4), explicit.worker().heartbeatInterval());

    var error =
        assertThrows(
            ConfigException.class,
            () ->
                SpoolConfig.fromEnv(
                    Map.of("SPOOL_VISIBILITY_TIMEOUT_SECS", "5", "SPOOL_HEARTBEAT_SECS", "5")));
    assertEquals(
        List.of("SPOOL_HEARTBEAT_SECS (5) must be below SPOOL_VISIBILITY_TIMEOUT_SECS (5)"),
        error.problems());
  }

  @Test
  void webhookSecretsAreCheckedButNeverShown() {
    var error =
        assertThrows(
            ConfigException.class,
            () ->
                SpoolConfig.fromEnv(
                    Map.of("SPOOL_WEBHOOK_SECRET", "long-enough-secret-1,tooshort")));
    assertTrue(
        error.getMessage().contains("secret 2 of 2 is shorter than 16 characters"),
        error.getMessage());
    assertFalse(error.getMessage().contains("tooshort"));
    var config =
        SpoolConfig.fromEnv(
            Map.of(
                "SPOOL_WEBHOOK_SECRET",
                "old-secret-0123456789, new-secret-0123456789",
                "SPOOL_WEBHOOK_ALLOWED_HOSTS",
                "127.0.0.1,*.svc.cluster.local"));
    assertEquals(
        List.of("old-secret-0123456789", "new-secret-0123456789"), config.webhooks().secrets());
    assertFalse(config.toString().contains("0123456789"), "toString hides the secrets");
    assertTrue(config.webhooks().destinations().allows("hooks.ns.svc.cluster.local"));
  }

  @Test
  void llmJobsRunOnlyWhereAServerIsConfiguredAndItsKeyIsNeverShown() {
    assertFalse(SpoolConfig.fromEnv(Map.of()).llm().enabled());
    var config =
        SpoolConfig.fromEnv(
            Map.of(
                "SPOOL_LLM_BASE_URL",
                "http://127.0.0.1:11434/v1",
                "SPOOL_LLM_API_KEY",
                "sk-live-0123456789"));
    assertTrue(config.llm().enabled());
    assertEquals("sk-live-0123456789", config.llm().apiKey());
    assertFalse(config.toString().contains("sk-live"), "toString hides the key");
    var error =
        assertThrows(
            ConfigException.class,
            () -> SpoolConfig.fromEnv(Map.of("SPOOL_LLM_BASE_URL", "ftp://x")));
    assertTrue(
        error.getMessage().contains("SPOOL_LLM_BASE_URL must be a URL like http://host:port/path"),
        error.getMessage());
  }

  @Test
  void straightToPostgresEveryConnectionIsASessionInSpoolsSchema() {
    var config = SpoolConfig.fromEnv(Map.of("SPOOL_PG_SCHEMA", "acme"));
    assertEquals(SpoolConfig.Pg.Pooler.NONE, config.pg().pooler());
    assertEquals(config.pg().url(), config.pg().directUrl());
    var pooled = PgClients.connectOptions(config);
    assertTrue(pooled.getCachePreparedStatements());
    assertFalse(pooled.getUseLayer7Proxy());
    assertEquals("acme", pooled.getProperties().get("search_path"));
    assertTrue(config.pg().listen());
    assertFalse(SpoolConfig.fromEnv(Map.of("SPOOL_PG_LISTEN", "off")).pg().listen());
  }

  @Test
  void behindATransactionPoolerStatementsAreUnnamedAndSessionsGoDirect() {
    var config =
        SpoolConfig.fromEnv(
            Map.of(
                "SPOOL_PG_URL", "postgresql://spool@pgbouncer:6432/spool",
                "SPOOL_PG_DIRECT_URL", "postgresql://spool@db:5432/spool",
                "SPOOL_PG_POOLER", "transaction",
                "SPOOL_PG_SCHEMA", "acme"));
    var pooled = PgClients.connectOptions(config);
    assertEquals("pgbouncer", pooled.getHost());
    assertFalse(pooled.getCachePreparedStatements(), "a named statement stays in one session");
    assertTrue(pooled.getUseLayer7Proxy(), "Parse goes with every Bind");
    assertFalse(
        pooled.getProperties().containsKey("search_path"), "PgBouncer refuses the parameter");
    var direct = PgClients.directConnectOptions(config);
    assertEquals("db", direct.getHost());
    assertEquals("acme", direct.getProperties().get("search_path"));
    assertEquals("jdbc:postgresql://db:5432/spool", PgClients.jdbcUrl(config), "migrations");
  }

  @Test
  void aTransactionPoolerNeedsADirectUrlBesideIt() {
    var missing =
        assertThrows(
            ConfigException.class,
            () ->
                SpoolConfig.fromEnv(
                    Map.of(
                        "SPOOL_PG_URL",
                        "postgresql://spool@pgbouncer:6432/spool",
                        "SPOOL_PG_POOLER",
                        "transaction")));
    assertTrue(
        missing.getMessage().contains("SPOOL_PG_POOLER=transaction needs SPOOL_PG_DIRECT_URL"),
        missing.getMessage());
    var unknown =
        assertThrows(
            ConfigException.class,
            () ->
                SpoolConfig.fromEnv(
                    Map.of("SPOOL_PG_POOLER", "session", "SPOOL_PG_DIRECT_URL", "mysql://db/x")));
    assertEquals(2, unknown.problems().size(), unknown.getMessage());
    assertTrue(unknown.getMessage().contains("SPOOL_PG_POOLER=session is not valid: none or"));
    assertTrue(unknown.getMessage().contains("SPOOL_PG_DIRECT_URL must be a URL like"));
  }
}
