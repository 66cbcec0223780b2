#!/usr/bin/env bash
# Rehearses a multi-node Spool on one machine: a Redis Cluster of 3 masters and 3 replicas, PgBouncer
# in transaction mode in front of the local PostgreSQL, two gateways and three workers, each a
# process of its own. It then submits a batch of jobs through both gateways with curl, waits until
# every one has completed, and shows how Spool's Redis keys spread over the three masters.
#
#   deploy/local-cluster/rehearse.sh [start]        start everything (stopping a previous run first)
#   deploy/local-cluster/rehearse.sh --stores-only  start only the Redis Cluster and PgBouncer
#   deploy/local-cluster/rehearse.sh status         what is running, the cluster's state, the pools
#   deploy/local-cluster/rehearse.sh stop           stop everything it started (pid files in its dir)
#
# Prerequisites: redis-server and redis-cli 7+ (apt-get install redis-server), PgBouncer
# (apt-get install pgbouncer), curl, psql (postgresql-client), a PostgreSQL answering on
# 127.0.0.1:5432 (bin/quickstart starts the machine's own), and a JDK 21+ (bin/spool finds one and
# builds Spool on first use).
#
# Everything it makes lives in its work dir, .spool/local-cluster/ (REHEARSE_DIR): configs, logs
# and pid files. Its Spool uses the schema and key prefix "rehearse" (REHEARSE_NAME), so it stays
# apart from other Spools on the same Postgres. Ports (all on 127.0.0.1, each can be changed):
#   REHEARSE_REDIS_PORT=7101     Redis nodes on 7101..7106, their cluster bus on 17101..17106
#   REHEARSE_PGBOUNCER_PORT=6433 PgBouncer
#   REHEARSE_GATEWAY_PORT=8181   gateways on 8181 and 8182
#   REHEARSE_METRICS_PORT=9571   workers' /metrics and /health on 9571..9573
# Other knobs: REHEARSE_JOBS=300 (jobs submitted), REHEARSE_TIMEOUT_SECS=120 (to wait for them),
# REHEARSE_PG_HOST/PORT/USER/DB/PASSWORD (the PostgreSQL behind PgBouncer; default the local one
# as postgres, no password), JDK_JAVA_OPTIONS (default -Xmx256m for each of the five JVMs).
#
# Spool's processes get SPOOL_REDIS_MODE=cluster with the seed nodes in SPOOL_REDIS_URL and
# SPOOL_QUEUE_SHARDS=3, and SPOOL_PG_POOLER=transaction with SPOOL_PG_URL at PgBouncer and
# SPOOL_PG_DIRECT_URL at Postgres for what cannot go through a transaction pooler (LISTEN, the
# migrations' session lock).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
spool=$root/bin/spool # builds Spool if needed, finds a JDK 21+, runs it

work=${REHEARSE_DIR:-$root/.spool/local-cluster}
name=${REHEARSE_NAME:-rehearse}
redis_port=${REHEARSE_REDIS_PORT:-7101}
pgbouncer_port=${REHEARSE_PGBOUNCER_PORT:-6433}
gateway_port=${REHEARSE_GATEWAY_PORT:-8181}
metrics_port=${REHEARSE_METRICS_PORT:-9571}
jobs=${REHEARSE_JOBS:-300}
timeout_secs=${REHEARSE_TIMEOUT_SECS:-120}
pg_host=${REHEARSE_PG_HOST:-127.0.0.1}
pg_port=${REHEARSE_PG_PORT:-5432}
pg_user=${REHEARSE_PG_USER:-postgres}
pg_db=${REHEARSE_PG_DB:-postgres}
pg_password=${REHEARSE_PG_PASSWORD:-}

redis_nodes=6
gateways=2
workers=3
# A node unanswered for 2 s counts as failed: failovers in seconds, yet no false alarm on a busy box.
node_timeout_millis=2000

say() { printf 'rehearse: %s\n' "$*"; }
die() { printf 'rehearse: %s\n' "$*" >&2; exit 1; }

need() {
  command -v "$1" > /dev/null || die "$1 is missing: $2"
}

listening() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }

redis_ports() { seq "$redis_port" $((redis_port + redis_nodes - 1)); }

redis_seeds() {
  local port seeds=()
  for port in $(redis_ports); do seeds+=("redis://127.0.0.1:$port"); done
  (IFS=,; echo "${seeds[*]}")
}

# The masters serving slots now, as the first node that answers sees them: "port" lines.
redis_masters() {
  local port
  for port in $(redis_ports); do
    if redis-cli -p "$port" ping > /dev/null 2>&1; then
      redis-cli -p "$port" cluster nodes \
        | awk '$3 ~ /master/ && $3 !~ /fail/ && NF > 8 { split($2, a, "[:@]"); print a[2] }' | sort -n
      return 0
    fi
  done
  return 1
}

await() { # await SECONDS WHAT COMMAND...: polls COMMAND every 0.2 s
  local secs=$1 what=$2 i
  shift 2
  for i in $(seq 1 $((secs * 5))); do
    if "$@" > /dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  die "timed out after $secs s waiting until $what"
}

# --- Redis Cluster ---------------------------------------------------------------------------------

start_redis_cluster() {
  need redis-server "apt-get install redis-server"
  need redis-cli "apt-get install redis-tools"
  local port nodes=()
  mkdir -p "$work/redis"
  for port in $(redis_ports); do
    listening "$port" && die "port $port is taken (REHEARSE_REDIS_PORT chooses the first of six)"
    listening $((port + 10000)) && die "port $((port + 10000)) (cluster bus of $port) is taken"
    # A cluster config left from an earlier run would make the node rejoin that cluster.
    rm -f "$work/redis/nodes-$port.conf"
    redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
      --cluster-config-file "$work/redis/nodes-$port.conf" \
      --cluster-node-timeout "$node_timeout_millis" --save "" --appendonly no \
      --repl-diskless-sync-delay 0 --dir "$work/redis" --daemonize yes \
      --pidfile "$work/pids/redis-$port.pid" --logfile "$work/logs/redis-$port.log"
    nodes+=("127.0.0.1:$port")
  done
  for port in $(redis_ports); do
    await 10 "redis-server on port $port answers" redis-cli -p "$port" ping
  done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes \
    > "$work/logs/redis-cluster-create.log" 2>&1 \
    || die "redis-cli --cluster create failed; see $work/logs/redis-cluster-create.log"
  for port in $(redis_ports); do
    await 30 "node $port says cluster_state:ok" cluster_ok "$port"
  done
  say "Redis Cluster up: masters $(redis_masters | tr '\n' ' ')of nodes $(redis_ports | tr '\n' ' ')"
}

cluster_ok() {
  local info
  info=$(redis-cli -p "$1" cluster info) || return 1
  grep -q '^cluster_state:ok' <<< "$info" && grep -q '^cluster_slots_ok:16384' <<< "$info"
}

# --- PgBouncer -------------------------------------------------------------------------------------

pgbouncer_password() {
  if [ -n "$pg_password" ]; then
    echo "$pg_password"
  else
    [ -s "$work/pgbouncer/password" ] \
      || (umask 077; od -An -tx1 -N16 /dev/urandom | tr -d ' \n' > "$work/pgbouncer/password")
    cat "$work/pgbouncer/password"
  fi
}

start_pgbouncer() {
  command -v pgbouncer > /dev/null || [ -x /usr/sbin/pgbouncer ] \
    || die "pgbouncer is missing: apt-get install pgbouncer"
  local bin password version owner=""
  bin=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
  listening "$pgbouncer_port" && die "port $pgbouncer_port is taken (REHEARSE_PGBOUNCER_PORT)"
  listening "$pg_port" || die "no PostgreSQL answers on $pg_host:$pg_port (bin/quickstart starts the local one)"
  mkdir -p "$work/pgbouncer"
  password=$(pgbouncer_password)
  # Clients log in to PgBouncer with this password; PgBouncer logs in to Postgres with it too.
  (umask 077; printf '"%s" "%s"\n' "$pg_user" "$password" > "$work/pgbouncer/userlist.txt")
  cat > "$work/pgbouncer/pgbouncer.ini" << EOF
; Written by deploy/local-cluster/rehearse.sh; rewritten at each start.
[databases]
; Spool sends search_path as a startup parameter, which PgBouncer does not pass on (it is ignored
; below); connect_query sets it on each server connection instead, so it holds in every transaction.
spool = host=$pg_host port=$pg_port dbname=$pg_db user=$pg_user connect_query='SET search_path TO $name'

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $pgbouncer_port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $work/pgbouncer/userlist.txt
admin_users = $pg_user
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
; Startup parameters PgBouncer does not track: the JDBC driver's and Vert.x's, accepted and dropped.
ignore_startup_parameters = extra_float_digits,search_path,plan_cache_mode
logfile = $work/logs/pgbouncer.log
pidfile = $work/pids/pgbouncer.pid
EOF
  # Named prepared statements through a transaction pooler need PgBouncer 1.21+ to track them
  # (Debian 12 ships 1.18, which passes them to whichever server connection is free).
  version=$("$bin" --version | awk 'NR == 1 { print $2 }')
  if [ "$(printf '%s\n1.21\n' "$version" | sort -V | head -n 1)" = 1.21 ]; then
    echo 'max_prepared_statements = 200' >> "$work/pgbouncer/pgbouncer.ini"
  else
    say "PgBouncer $version does not track prepared statements (1.21+ does): Spool sends them unnamed (SPOOL_PG_POOLER=transaction)"
  fi
  # PgBouncer refuses to run as root: it drops to the postgres user (or nobody), who must be able to
  # read its files and write its log and pid file.
  if [ "$(id -u)" -eq 0 ]; then
    owner=$(id -u postgres > /dev/null 2>&1 && echo postgres || echo nobody)
    chown -R "$owner" "$work/pgbouncer"
    touch "$work/logs/pgbouncer.log"
    chown "$owner" "$work/logs/pgbouncer.log" "$work/pids"
  fi
  "$bin" -d ${owner:+-u "$owner"} "$work/pgbouncer/pgbouncer.ini" \
    || die "pgbouncer did not start; see $work/logs/pgbouncer.log"
  await 10 "PgBouncer answers on port $pgbouncer_port" \
    env PGPASSWORD="$password" psql -h 127.0.0.1 -p "$pgbouncer_port" -U "$pg_user" -d spool -tAc 'select 1'
  say "PgBouncer up on 127.0.0.1:$pgbouncer_port (transaction mode) in front of $pg_host:$pg_port/$pg_db"
}

# --- Spool -----------------------------------------------------------------------------------------

api_key() {
  [ -s "$work/api-key" ] || (umask 077; od -An -tx1 -N20 /dev/urandom | tr -d ' \n' > "$work/api-key")
  cat "$work/api-key"
}

# The settings every gateway and worker of the rehearsal gets.
spool_env() {
  local password
  password=$(pgbouncer_password)
  export SPOOL_REDIS_MODE=cluster
  SPOOL_REDIS_URL=$(redis_seeds)
  export SPOOL_REDIS_URL
  export SPOOL_PG_URL="postgresql://$pg_user:$password@127.0.0.1:$pgbouncer_port/spool"
  export SPOOL_PG_DIRECT_URL="postgresql://$pg_user${pg_password:+:$pg_password}@$pg_host:$pg_port/$pg_db"
  export SPOOL_PG_POOLER=transaction
  export SPOOL_QUEUE_SHARDS=3
  export SPOOL_PG_SCHEMA=$name
  export SPOOL_KEY_PREFIX=$name
  SPOOL_API_KEYS="$(api_key)=rehearsal"
  export SPOOL_API_KEYS
}

start_spool() {
  need curl "apt-get install curl"
  local i port
  # Read by the java launcher itself, so given to the five JVMs only, never to a build bin/spool runs.
  local java_options=${JDK_JAVA_OPTIONS:--Xmx256m}
  for i in $(seq 1 "$gateways"); do
    port=$((gateway_port + i - 1))
    listening "$port" && die "port $port is taken (REHEARSE_GATEWAY_PORT chooses the first gateway's)"
  done
  for i in $(seq 1 "$workers"); do
    port=$((metrics_port + i - 1))
    listening "$port" && die "port $port is taken (REHEARSE_METRICS_PORT chooses the first worker's)"
  done
  spool_env
  # Migrations hold a session-level lock, which a transaction pooler cannot keep: Spool runs them on
  # SPOOL_PG_DIRECT_URL. The first bin/spool call also builds Spool if needed; the background ones
  # find it built.
  if ! "$spool" migrate > "$work/logs/migrate.log" 2>&1; then
    tail -n 20 "$work/logs/migrate.log" >&2
    die "bin/spool migrate failed (above: the end of $work/logs/migrate.log)"
  fi
  # One at a time: five JVMs starting at once on a small machine starve each other's event loops
  # past their start-up timeouts.
  for i in $(seq 1 "$gateways"); do
    port=$((gateway_port + i - 1))
    JDK_JAVA_OPTIONS=$java_options SPOOL_HTTP_PORT=$port "$spool" gateway \
      > "$work/logs/gateway-$i.log" 2>&1 &
    echo $! > "$work/pids/gateway-$i.pid"
    await_ready "gateway-$i" "http://127.0.0.1:$port/health/ready"
  done
  for i in $(seq 1 "$workers"); do
    port=$((metrics_port + i - 1))
    JDK_JAVA_OPTIONS=$java_options SPOOL_METRICS_PORT=$port "$spool" worker \
      > "$work/logs/worker-$i.log" 2>&1 &
    echo $! > "$work/pids/worker-$i.pid"
    await_ready "worker-$i" "http://127.0.0.1:$port/health/ready"
  done
  say "Spool up: gateways on $(seq -s ' ' "$gateway_port" $((gateway_port + gateways - 1))), $workers workers"
}

# Waits until a Spool process answers ready, or fails at once with its log's end if it has exited.
await_ready() {
  local role=$1 url=$2 pid
  pid=$(cat "$work/pids/$role.pid")
  for _ in $(seq 1 600); do
    curl -fs "$url" > /dev/null 2>&1 && return 0
    if ! kill -0 "$pid" 2> /dev/null; then
      tail -n 20 "$work/logs/$role.log" >&2
      die "$role exited before it was ready (above: the end of $work/logs/$role.log)"
    fi
    sleep 0.2
  done
  die "$role is not ready after 120 s; see $work/logs/$role.log"
}

# Submits $jobs echo jobs in batches of up to 100, alternating between the gateways; prints the ids.
submit_jobs() {
  local key sent=0 batch i n port body answer
  key=$(api_key)
  for batch in $(seq 0 $(((jobs + 99) / 100 - 1))); do
    n=$((jobs - sent < 100 ? jobs - sent : 100))
    port=$((gateway_port + batch % gateways))
    body='{"jobs":['
    for i in $(seq 1 "$n"); do
      body+="{\"type\":\"echo\",\"request\":{\"n\":$((sent + i))}}"
      [ "$i" -lt "$n" ] && body+=','
    done
    body+=']}'
    answer=$(curl -fsS -XPOST "http://127.0.0.1:$port/v1/jobs/batch" -H "Authorization: Bearer $key" \
      -H 'Content-Type: application/json' -d "$body") \
      || die "submitting a batch to the gateway on port $port failed; see its log in $work/logs/"
    # Each job's own "id"; ids are UUIDs, so no other field can match.
    grep -o '"id":"[0-9a-f-]\{36\}"' <<< "$answer" | cut -d'"' -f4
    sent=$((sent + n))
  done
}

# Waits until every job in the file has ended, asking both gateways in turn; fails unless all completed.
await_jobs() {
  local ids=$1 key deadline id status port i=0 completed=0 other=0
  key=$(api_key)
  deadline=$((SECONDS + timeout_secs))
  while read -r id; do
    port=$((gateway_port + i % gateways))
    i=$((i + 1))
    while :; do
      status=$(curl -fsS -H "Authorization: Bearer $key" "http://127.0.0.1:$port/v1/jobs/$id?wait_secs=10" \
        | grep -o '"status":"[a-z]*"' | head -n 1 | cut -d'"' -f4) || status=unknown
      case "$status" in
        completed) completed=$((completed + 1)); break ;;
        failed | cancelled) other=$((other + 1)); say "job $id ended $status"; break ;;
      esac
      [ "$SECONDS" -lt "$deadline" ] || die "jobs still unfinished after $timeout_secs s ($completed completed; $id is $status)"
    done
  done < "$ids"
  say "$completed of $i jobs completed, $other did not"
  [ "$other" -eq 0 ] && [ "$completed" -eq "$jobs" ]
}

show_keys_per_master() {
  local master
  say "Redis keys per master (keys with \"$name\" in their name / all keys):"
  for master in $(redis_masters); do
    printf '  127.0.0.1:%s  %6s / %s\n' "$master" \
      "$(redis-cli -p "$master" --scan --pattern "*$name*" | wc -l)" "$(redis-cli -p "$master" dbsize)"
  done
}

# --- stop and status -------------------------------------------------------------------------------

# What each pid file's process must be running, so a stale pid reused by another process is spared.
expected_command() {
  case "$1" in
    redis-*) echo redis-server ;;
    pgbouncer) echo pgbouncer ;;
    *) echo SpoolCli ;;
  esac
}

ours() { # ours NAME PID: the pid still runs what we started under that name
  grep -q "$(expected_command "$1")" "/proc/$2/cmdline" 2> /dev/null
}

stop_all() {
  [ -d "$work/pids" ] || return 0
  local group prefix pidfile role pid files
  # Spool first, so it does not spend its last seconds retrying a Redis or Postgres already gone.
  for group in 'gateway worker' 'pgbouncer' 'redis'; do
    files=()
    for prefix in $group; do
      for pidfile in "$work/pids/$prefix"*.pid; do
        if [ -f "$pidfile" ]; then files+=("$pidfile"); fi
      done
    done
    for pidfile in "${files[@]}"; do
      role=$(basename "$pidfile" .pid)
      pid=$(cat "$pidfile" 2> /dev/null) || continue
      if ours "$role" "$pid"; then kill "$pid" 2> /dev/null || true; fi
    done
    for pidfile in "${files[@]}"; do
      role=$(basename "$pidfile" .pid)
      pid=$(cat "$pidfile" 2> /dev/null) || continue # a Redis removes its pid file as it exits
      for _ in $(seq 1 100); do ours "$role" "$pid" || break; sleep 0.2; done
      if ours "$role" "$pid"; then
        say "$role (pid $pid) did not stop within 20 s: killing it"
        kill -9 "$pid" 2> /dev/null || true
      fi
      rm -f "$pidfile"
    done
  done
  rm -f "$work"/redis/nodes-*.conf
}

status() {
  local pidfile role pid any=0 port
  if [ -d "$work/pids" ]; then
    for pidfile in "$work"/pids/*.pid; do
      [ -f "$pidfile" ] || continue
      any=1
      role=$(basename "$pidfile" .pid)
      pid=$(cat "$pidfile")
      if ours "$role" "$pid"; then echo "  $role: running (pid $pid)"; else echo "  $role: not running"; fi
    done
  fi
  [ "$any" -eq 1 ] || { say "nothing started (no pid files in $work/pids)"; return 0; }
  if redis_masters > /dev/null 2>&1; then
    port=$(redis_masters | head -n 1)
    echo "  Redis Cluster: $(redis-cli -p "$port" cluster info | grep '^cluster_state' | tr -d '\r');" \
      "masters $(redis_masters | tr '\n' ' ')"
  fi
  if listening "$pgbouncer_port"; then
    echo "  PgBouncer pools:"
    PGPASSWORD=$(pgbouncer_password) psql -h 127.0.0.1 -p "$pgbouncer_port" -U "$pg_user" -d pgbouncer \
      -c 'SHOW POOLS' 2> /dev/null | sed 's/^/    /' || true
  fi
  for port in $(seq "$gateway_port" $((gateway_port + gateways - 1))); do
    if curl -fs "http://127.0.0.1:$port/health/ready" > /dev/null 2>&1; then
      echo "  gateway on $port: ready"
    fi
  done
}

# --- main ------------------------------------------------------------------------------------------

command=${1:-start}
case "$command" in
  stop)
    stop_all
    say "stopped everything it had started (logs stay in $work/logs)"
    ;;
  status)
    status
    ;;
  start | --stores-only)
    stores_only=0
    [ "$command" = --stores-only ] || [ "${2:-}" = --stores-only ] && stores_only=1
    stop_all
    mkdir -p "$work/pids" "$work/logs"
    start_redis_cluster
    start_pgbouncer
    if [ "$stores_only" -eq 1 ]; then
      say "stores only. Redis seeds: $(redis_seeds)"
      say "PgBouncer: postgresql://$pg_user:$(pgbouncer_password)@127.0.0.1:$pgbouncer_port/spool"
      say "stop them with: $0 stop"
      exit 0
    fi
    start_spool
    submit_jobs > "$work/job-ids"
    say "submitted $(wc -l < "$work/job-ids") jobs through both gateways; waiting for them"
    await_jobs "$work/job-ids" || { show_keys_per_master; die "not every job completed"; }
    show_keys_per_master
    say "API key (user rehearsal): $(api_key); try: curl -H \"Authorization: Bearer \$(cat $work/api-key)\" localhost:$gateway_port/v1/queues"
    say "running; logs in $work/logs. Stop it with: $0 stop"
    ;;
  -h | --help | help)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    ;;
  *)
    die "unknown command '$command' (start, --stores-only, status, stop, --help)"
    ;;
esac
