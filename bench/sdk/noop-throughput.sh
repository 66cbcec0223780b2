#!/usr/bin/env bash
# Throughput of noop jobs through one SDK worker process (concurrency 100), with the CPU each
# process spent: the queue is filled first, then the worker drains it.
#
#   bench/sdk/noop-throughput.sh python|typescript [jobs]
#
# Needs a running gateway (SPOOL_URL, SPOOL_API_KEY a user key, SPOOL_WORKER_KEY a worker key) and,
# for the CPU figures, GATEWAY_PID (the gateway's process id). Prints the SDK bench's JSON line,
# then CPU ms per 1,000 jobs of the gateway, the SDK process, Postgres (all its processes) and Redis.
set -euo pipefail
sdk=${1:?python or typescript}; jobs=${2:-20000}
here=$(cd "$(dirname "$0")/../.." && pwd)
type="noop-$sdk-$$"
: "${SPOOL_URL:?}" "${SPOOL_API_KEY:?}" "${SPOOL_WORKER_KEY:?}"
# Make the type known (a worker registers it), then leave, so the jobs wait for the bench worker.
wid=$(curl -sf -XPOST "$SPOOL_URL/v1/workers" -H "Authorization: Bearer $SPOOL_WORKER_KEY" \
  -H 'Content-Type: application/json' -d "{\"types\":[\"$type\"]}" | python3 -c 'import sys,json;print(json.load(sys.stdin)["worker_id"])')
curl -sf -XDELETE "$SPOOL_URL/v1/workers/$wid" -H "Authorization: Bearer $SPOOL_WORKER_KEY"
batch=$(python3 -c "import json;print(json.dumps({'jobs':[{'type':'$type','request':{}}]*1000}))")
for ((sent = 0; sent < jobs; sent += 1000)); do
  curl -sf -o /dev/null -XPOST "$SPOOL_URL/v1/jobs/batch" -H "Authorization: Bearer $SPOOL_API_KEY" \
    -H 'Content-Type: application/json' -d "$batch"
done
cpu() { # utime+stime of these pids, in ms
  local total=0 pid; for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] && total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done; echo $((total * 1000 / $(getconf CLK_TCK))); }
pg_pids() { pgrep -x postgres || true; }
redis_pids() { pgrep -x redis-server || true; }
g0=$(cpu ${GATEWAY_PID:-}); p0=$(cpu $(pg_pids)); r0=$(cpu $(redis_pids))
case "$sdk" in
  python) cmd=(/usr/bin/python3 "$here/sdk/python/bench/noop_worker.py" "$type" "$jobs");
          export PYTHONPATH="$here/sdk/python" ;;
  typescript) cmd=(node "$here/sdk/typescript/bench/noop-worker.mjs" "$type" "$jobs") ;;
  *) echo "python or typescript" >&2; exit 2 ;;
esac
"${cmd[@]}" & sdk_pid=$!
s0=0; s1=0
while kill -0 $sdk_pid 2>/dev/null; do s1=$(cpu $sdk_pid); sleep 0.2; done
wait $sdk_pid
g1=$(cpu ${GATEWAY_PID:-}); p1=$(cpu $(pg_pids)); r1=$(cpu $(redis_pids))
per() { echo $(( ($1) * 1000 / jobs )); }
echo "cpu_ms_per_1000_jobs gateway=$(per $g1-$g0) $sdk=$(per $s1-$s0) (to its last sample) postgres=$(per $p1-$p0) redis=$(per $r1-$r0)"
