#!/usr/bin/env bash
# Spool on one Redis against Spool on a 3-master Redis Cluster (3 replicas, SPOOL_QUEUE_SHARDS=3),
# in the same sitting: bench/cluster/standalone-vs-cluster.sh standalone|cluster [jobs]
#
# Starts the Redis side on local ports (a fresh redis-server on 6391, or six cluster nodes on
# 7101-7106 joined with redis-cli --cluster create), one `spool dev` process (gateway and a worker
# of 100 slots) on a schema and key prefix of its own, runs `spool bench` (jobs long-polled by 64
# callers, 10,000 warm-up jobs first), then prints the bench's figures, the CPU all Redis nodes
# used, and the Redis commands per job on each master (INFO commandstats, script-internal commands
# included, warm-up jobs counted). Everything it started is stopped at the end. Needs the local
# Postgres (SPOOL_PG_URL, default the local one) and redis-server/redis-cli on the PATH.
set -euo pipefail
mode=${1:?standalone or cluster}
jobs=${2:-20000}
warmup=10000
root=$(cd "$(dirname "$0")/../.." && pwd)
spool=$root/bin/spool
tag=bench_${mode}_$$
work=$(mktemp -d)
ports=()
cleanup() {
  set +e
  if [ -n "${spool_pid:-}" ]; then kill "$spool_pid" 2>/dev/null; wait "$spool_pid" 2>/dev/null; fi
  for p in "${ports[@]}"; do redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true; done
  psql "${SPOOL_PG_URL:-postgresql://postgres@127.0.0.1:5432/postgres}" -qc "DROP SCHEMA IF EXISTS $tag CASCADE" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "standalone-vs-cluster: failed at line $LINENO" >&2' ERR
redis_env=()
if [ "$mode" = cluster ]; then
  nodes=()
  for p in 7101 7102 7103 7104 7105 7106; do
    redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file "$work/nodes-$p.conf" \
      --cluster-node-timeout 2000 --save "" --appendonly no --dir "$work" --daemonize yes --logfile "$work/redis-$p.log"
    ports+=("$p"); nodes+=("127.0.0.1:$p")
  done
  sleep 1
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >/dev/null
  for _ in $(seq 1 60); do redis-cli -p 7101 cluster info | grep -q cluster_state:ok && break; sleep 0.5; done
  sleep 2
  # shellcheck disable=SC2054 # the commas are the URL list's
  redis_env=(SPOOL_REDIS_MODE=cluster SPOOL_QUEUE_SHARDS=3
    SPOOL_REDIS_URL=redis://127.0.0.1:7101,redis://127.0.0.1:7102,redis://127.0.0.1:7103)
else
  redis-server --port 6391 --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --daemonize yes --logfile "$work/redis.log"
  ports=(6391); sleep 0.5
  redis_env=(SPOOL_REDIS_URL=redis://127.0.0.1:6391)
fi
redis_cpu() {
  for p in "${ports[@]}"; do redis-cli -p "$p" info cpu; done |
    awk -F: '/^used_cpu_(sys|user):/ { s += $2 } END { printf "%.2f", s }'
}
env SPOOL_HTTP_PORT=18282 SPOOL_PG_SCHEMA="$tag" SPOOL_KEY_PREFIX="$tag" SPOOL_AUTH=none \
  SPOOL_WORKER_CONCURRENCY=100 "${redis_env[@]}" "$spool" dev > "$work/spool.log" 2>&1 &
spool_pid=$! # bin/spool execs java: this is Spool's JVM
for _ in $(seq 1 240); do curl -sf http://127.0.0.1:18282/health/ready >/dev/null && break; sleep 0.5; done
for p in "${ports[@]}"; do redis-cli -p "$p" config resetstat >/dev/null; done
cpu_before=$(redis_cpu)
"$spool" bench --url http://127.0.0.1:18282 --jobs "$jobs" --concurrency 64 --warmup "$warmup" --wait-secs 30 \
  --pids "spool=$spool_pid,postgres=$(pgrep -o -x postgres)" | grep -E "jobs/s|CPU ms"
echo "Redis CPU, all nodes: $(echo "$(redis_cpu) $cpu_before" | awk '{ printf "%.2f", $1 - $2 }') s for $((jobs + warmup)) jobs"
for p in "${ports[@]}"; do
  redis-cli -p "$p" role | head -n 1 | grep -q master || continue
  redis-cli -p "$p" info commandstats | tr -d '\r' | awk -F'[:=,]' -v port="$p" -v n=$((jobs + warmup)) '
    /^cmdstat_/ { calls[substr($1, 9)] = $3; total += $3 }
    END {
      printf "master %s: %.2f commands per job (", port, total / n
      k = 0; for (c in calls) if (calls[c] / n >= 0.05) printf "%s%s %.2f", (k++ ? ", " : ""), c, calls[c] / n
      print ")"
    }'
done
