#!/usr/bin/env bash
# profile.sh [QN...]   (run.sh profile): py-spy on the running bizgraph server under load.
# For each workload (default q1 q4): wrk -t1 -c${PEERS_PROFILE_CONNS:-16} on $PEERS_LOAD_CPUS for S + 6 s; after 3 s,
# py-spy record --duration S --rate 100 --format raw on the server's pid(s), also on $PEERS_LOAD_CPUS
# (S = ${PEERS_PROFILE_SECONDS:-10}; with several workers, --subprocesses follows them all).
# Writes $PEERS_SCRATCH/prof/qN.raw (collapsed stacks), qN.txt (bench/peers/pyspy_report.py: layers, self time,
# leaf functions, inclusive shares; also printed), qN.wrk, qN.pyspy.log.
# py-spy (pinned below) goes into $PEERS_SCRATCH/venv on first use; it needs ptrace rights on the server (root,
# or CAP_SYS_PTRACE, or kernel.yama.ptrace_scope = 0 for your own processes).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
PYSPY_VERSION=0.4.3
QS=${*:-q1 q4}
S=${PEERS_PROFILE_SECONDS:-10}
PR=$SCRATCH/prof
alive biz "bizgraph serve" || die "bizgraph is not running (run.sh up)"
PID=$(cat "$(pidfile biz)")
[ -x "$VENV/bin/py-spy" ] || timeout 600 "$VENV/bin/pip" install -q "py-spy==$PYSPY_VERSION" || die "could not install py-spy"
mkdir -p "$PR"
for q in $QS; do
  q=${q,,}
  [ -f "$SCRATCH/bodies/bizgraph-$q.json" ] || die "no body for $q (workloads: q1 q2 q3 q4)"
  BODY_FILE=$SCRATCH/bodies/bizgraph-$q.json AUTH="Bearer $(cat "$SCRATCH/tokens/${PEERS_PROFILE_ROLE:-admin}.jwt")" \
    WINDOW_START=3 WINDOW_LEN=$S taskset -c "$PEERS_LOAD_CPUS" wrk -t1 -c"${PEERS_PROFILE_CONNS:-16}" -d$((S + 6))s \
    --timeout 30s -s "$HARNESS/post.lua" "http://127.0.0.1:$PEERS_BIZ_PORT/graphql" >"$PR/$q.wrk" 2>&1 &
  w=$!
  sleep 3
  taskset -c "$PEERS_LOAD_CPUS" "$VENV/bin/py-spy" record --pid "$PID" --subprocesses --duration "$S" --rate 100 \
    --format raw -o "$PR/$q.raw" >"$PR/$q.pyspy.log" 2>&1 || { tail -5 "$PR/$q.pyspy.log" >&2; say "py-spy failed on $q"; }
  wait "$w"
  say "$q load: $(tail -1 "$PR/$q.wrk")"
  if [ -s "$PR/$q.raw" ]; then py pyspy_report "$PR/$q.raw" | tee "$PR/$q.txt"; fi
done
say "profiles in $PR"
