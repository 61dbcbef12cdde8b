#!/usr/bin/env bash
# Interleaved A/B of running bizgraph servers on one workload: req/s and the server process's
# CPU per request (utime + stime from /proc over the wrk window), round after round, so two
# versions of the code are compared under the same noise. Made for comparing a change against
# the code before it (start each version from its own checkout on its own port).
#
#   bench/ab_cpu.sh ROUNDS SECONDS CONNS BODY.json NAME=PORT:TOKEN [NAME=PORT:TOKEN ...]
#
# BODY.json is the POST body ({"query": ..., "variables": ...}); TOKEN an access token the server
# accepts. Needs wrk. The server's PID is found by its port (`bizgraph serve ... --port PORT`).
set -euo pipefail
[ $# -ge 5 ] || { sed -n '2,10p' "$0"; exit 2; }
rounds=$1 seconds=$2 conns=$3 body=$4
shift 4
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# The server's process and its children (worker processes: `serve --workers N`, or a server that
# runs its application in a child process).
cpu_ticks() {
  local pids
  pids="$1 $(pgrep -P "$1" | paste -sd' ' || true)"
  for p in $pids; do cat "/proc/$p/stat"; done | awk '{t += $14 + $15} END {print t}'
}
ticks_per_second=$(getconf CLK_TCK)
for round in $(seq "$rounds"); do
  for target in "$@"; do
    name=${target%%=*} rest=${target#*=}
    port=${rest%%:*} token=${rest#*:}
    pid=$(pgrep -f -- "--port $port( |$)" | head -1)
    lua="$scratch/$name.lua"
    {
      echo 'wrk.method = "POST"'
      echo 'wrk.headers["Content-Type"] = "application/json"'
      echo "wrk.headers[\"Authorization\"] = \"Bearer $token\""
      printf 'wrk.body = [==[%s]==]\n' "$(cat "$body")"
    } > "$lua"
    before=$(cpu_ticks "$pid")
    out=$(wrk -t1 -c"$conns" -d"${seconds}s" -s "$lua" "http://127.0.0.1:$port/graphql")
    after=$(cpu_ticks "$pid")
    requests=$(echo "$out" | awk '/requests in/{print $1}')
    bad=$(echo "$out" | awk '/Non-2xx/{print $NF}')
    rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
    cpu_ms=$(awk -v t=$((after - before)) -v n="$requests" -v hz="$ticks_per_second" 'BEGIN{printf "%.3f", 1000 * t / hz / n}')
    printf 'round %s  %-10s req/s %8s  server CPU ms/req %s  non-2xx %s\n' "$round" "$name" "$rps" "$cpu_ms" "${bad:-0}"
  done
done
