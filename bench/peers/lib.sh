# lib.sh: settings and helpers shared by run.sh, pg.sh, servers.sh, matrix.sh and profile.sh (sourced).
# Every knob is an environment variable with a default; bench/README.md ("Side by side") lists them.
HARNESS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The bizgraph checkout measured: the one holding this harness, unless BIZGRAPH_ROOT names another.
ROOT=$(cd "${BIZGRAPH_ROOT:-$HARNESS/../..}" && pwd)
export PEERS_SCRATCH=${PEERS_SCRATCH:-/tmp/bizgraph-peers}
SCRATCH=$PEERS_SCRATCH
export PEERS_PGPORT=${PEERS_PGPORT:-5544}        # the harness's own cluster; never a server it did not start
export PEERS_DB=${PEERS_DB:-bizbench}
export PEERS_BIZ_PORT=${PEERS_BIZ_PORT:-8120}
export PEERS_BIZ_WORKERS=${PEERS_BIZ_WORKERS:-1}
export PEERS_PGL_PORT=${PEERS_PGL_PORT:-5678}
export PEERS_FLOOR_PORT=${PEERS_FLOOR_PORT:-5680}
export PEERS_SUT_CPUS=${PEERS_SUT_CPUS:-0}       # servers + PostgreSQL ("system under test")
export PEERS_LOAD_CPUS=${PEERS_LOAD_CPUS:-1}     # wrk, the cell driver, py-spy
PG_MAJOR=${PEERS_PG_MAJOR:-15}
PGBIN=/usr/lib/postgresql/$PG_MAJOR/bin
DSN=postgresql://postgres@127.0.0.1:$PEERS_PGPORT/$PEERS_DB
VENV=$SCRATCH/venv                               # the floor's server + py-spy; the harness's Python runs in it too
PY=$VENV/bin/python
[ -x "$PY" ] || PY=python3                       # before `up`: the helpers that need nothing but the stdlib

say() { echo "peers: $*" >&2; }
die() { echo "peers: $*" >&2; exit 1; }

[ "$PEERS_PGPORT" != 5432 ] || die "PEERS_PGPORT=5432 is refused: the harness runs a cluster of its own on another port"
[ "$PEERS_SUT_CPUS" != "$PEERS_LOAD_CPUS" ] || die "PEERS_SUT_CPUS and PEERS_LOAD_CPUS must differ"
[ -f "$ROOT/bench/workloads.py" ] && [ -f "$ROOT/scripts/install" ] \
  || die "$ROOT is not a bizgraph checkout (no bench/workloads.py, scripts/install): set BIZGRAPH_ROOT"

# py MODULE ARGS...: one of the harness's Python modules (bench.peers.MODULE), run from the checkout's root.
py() { local m=$1; shift; (cd "$ROOT" && "$PY" -m "bench.peers.$m" "$@"); }
# py_loaded MODULE ARGS...: the same, pinned to the load generator's CPUs (the cell driver and what it starts).
py_loaded() { local m=$1; shift; (cd "$ROOT" && taskset -c "$PEERS_LOAD_CPUS" "$PY" -m "bench.peers.$m" "$@"); }

# Run as the postgres OS user when root (PostgreSQL refuses to run as root), else as ourselves.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_psql() { PGOPTIONS="-c client_min_messages=warning" "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PEERS_PGPORT" -U postgres "$@"; }

pidfile() { echo "$SCRATCH/$1.pid"; }   # biz | pgl | floor (bench/peers/cpusnap.py reads the same files)

# alive NAME PATTERN: the pid in NAME's pid file runs and its command line contains PATTERN
# (so a recycled pid is never taken for one of ours).
alive() {
  local f pid
  f=$(pidfile "$1"); [ -f "$f" ] || return 1
  pid=$(cat "$f"); kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"
}
