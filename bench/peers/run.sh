#!/usr/bin/env bash
# bench/peers/run.sh: bizgraph side by side with a peer GraphQL server (PostGraphile, amber preset, the
# version pinned in postgraphile/package-lock.json) and a hand-written-SQL floor: one database, the same
# pinned cores, interleaved rounds, ratios. From the root of a bizgraph checkout: bash bench/peers/run.sh CMD
#   up [SCALE]                          cluster, database (migrate + seed --scale SCALE --seed 42; default medium),
#                                       signing key, users + tokens, bodies, the three servers (restarted)
#   check                               the three targets answer the same data
#   cell TARGET QN CONNS [ROLE]         one measured cell (appended to $PEERS_SCRATCH/results/cells.tsv)
#   matrix [ROUNDS] [SECONDS] ["CONNS"] interleaved rounds (default 3 15 "16 64") + tables
#   summary TSV                         the tables of a matrix TSV again
#   profile [QN...]                     py-spy of bizgraph under load (default q1 q4)
#   cprofile [QN] [N]                   cProfile of N requests through an in-process bizgraph app (no HTTP server)
#   lean-cpu [QN] [N] [ROUNDS]          CPU per request of the lean path in process, with the database and without
#   restart [bizgraph|postgraphile|floor]   restart one server (all without argument), e.g. after a code change
#   status | env | psql [ARGS] | down   state; exports for the bizgraph CLI; psql on the database; stop everything
# bench/README.md ("Side by side") says what each measures and lists the knobs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$HARNESS/servers.sh"
ROLES=(admin analyst sales)

org_slug() { pg_psql -d "$PEERS_DB" -tAc "select slug from organizations order by id limit 1"; }

need_tools() {
  local t missing=()
  [ "$(nproc)" -ge 2 ] || die "needs at least 2 CPUs (servers on $PEERS_SUT_CPUS, load on $PEERS_LOAD_CPUS)"
  if ! command -v wrk >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing wrk with apt"
    { timeout 600 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq wrk >/dev/null; } || true
  fi
  for t in taskset curl openssl python3 npm wrk; do command -v "$t" >/dev/null || missing+=("$t"); done
  [ ${#missing[@]} -eq 0 ] || die "missing: ${missing[*]} (Debian: apt-get install util-linux curl openssl python3-venv npm wrk)"
}

note_env() {  # what of the caller's environment reaches bizgraph, and which event loop and HTTP parser it gets
  local extra
  extra=$(env | grep -E '^BIZGRAPH_' | cut -d= -f1 \
          | grep -vxE 'BIZGRAPH_(SIGNING_KEYS|MAX_PAGE_SIZE|LOG_LEVEL|ACCESS_TOKEN_TTL_SECONDS|ISSUER|ROOT)' | paste -sd' ' || true)
  [ -z "$extra" ] || say "note: from your shell, $extra reach the bizgraph server"
  if "$ROOT/.venv/bin/python" -c 'import importlib.util as u, sys; sys.exit(bool(u.find_spec("uvloop") or u.find_spec("httptools")))'; then
    say "note: no uvloop/httptools in $ROOT/.venv: bizgraph's uvicorn runs asyncio + h11 (the floor runs uvloop + httptools)"
  else say "note: uvloop/httptools are in $ROOT/.venv, so bizgraph's uvicorn uses them"; fi
}

ensure_key() {
  mkdir -p "$SCRATCH/keys"
  [ -s "$SCRATCH/keys/signing.pem" ] && return
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$SCRATCH/keys/signing.pem" 2>/dev/null
  chmod 600 "$SCRATCH/keys/signing.pem"
}

prepare_database() {  # scale: seeded once per scale (RESEED=1 forces it); migrated every time
  local want="scale=$1 seed=42" have exists org emp pw role link
  have=$(cat "$SCRATCH/seeded" 2>/dev/null || true)
  exists=$(pg_psql -d postgres -tAc "select 1 from pg_database where datname = '$PEERS_DB'")
  if [ "$exists" = 1 ] && [ "$have" = "$want" ] && [ -z "${RESEED:-}" ]; then
    say "database $PEERS_DB already holds $have (RESEED=1 seeds it again); migrating"
    biz migrate >/dev/null
    return
  fi
  stop_servers
  rm -f "$SCRATCH/seeded"
  pg_psql -d postgres -c "drop database if exists \"$PEERS_DB\" with (force)" -c "create database \"$PEERS_DB\""
  biz migrate
  say "seeding: bizgraph seed --scale $1 --seed 42 (medium: about 40 s)"
  biz seed --scale "$1" --seed 42
  # bench users: admin, analyst, and sales linked to the seeded demo sales user's employee (the busiest
  # account manager of the first organization, the one every workload reads)
  org=$(org_slug)
  emp=${PEERS_SALES_EMPLOYEE:-$(pg_psql -d "$PEERS_DB" -tAc "select employee_id from users where email = 'sales@$org.example'")}
  [ -n "$emp" ] || die "no demo user sales@$org.example to link the sales user to: set PEERS_SALES_EMPLOYEE"
  pw=$(openssl rand -hex 16)   # never used: the tokens come from issue-token
  for role in "${ROLES[@]}"; do
    link=(); [ "$role" != sales ] || link=(--employee "$emp")
    echo "$pw" | biz create-user --org "$org" --email "bench-$role@$org.example" --password - --role "$role" \
      ${link[@]+"${link[@]}"} >/dev/null
  done
  say "users bench-{admin,analyst,sales}@$org.example (sales = employee $emp)"
  echo "$want" >"$SCRATCH/seeded"
}

issue_tokens() {
  local org role
  org=$(org_slug)
  mkdir -p "$SCRATCH/tokens"
  for role in "${ROLES[@]}"; do
    biz issue-token --org "$org" --email "bench-$role@$org.example" >"$SCRATCH/tokens/$role.jwt"
  done
  say "tokens (24 h) in $SCRATCH/tokens"
}

cmd_up() {
  local scale=${1:-medium}
  case $scale in tiny|small|medium|large) ;; *) die "usage: run.sh up [tiny|small|medium|large]";; esac
  need_tools
  if [ ! -x "$ROOT/.venv/bin/bizgraph" ]; then
    say "no $ROOT/.venv/bin/bizgraph: running scripts/install"
    (cd "$ROOT" && bash scripts/install) || die "scripts/install failed"
  fi
  note_env
  mkdir -p "$SCRATCH/bodies" "$SCRATCH/results"
  "$HARNESS/pg.sh" start
  ensure_key
  prepare_database "$scale"
  issue_tokens
  pg_psql -d "$PEERS_DB" -f "$HARNESS/postgraphile/bench_schema.sql"
  ensure_venv
  DATABASE_URL=$DSN py bodies "$SCRATCH/bodies"
  ensure_pgl
  stop_servers
  start_server biz; start_server pgl; start_server floor
  say "bizgraph $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '(no git)') on $PEERS_DB; next: run.sh check"
}

need_up() { [ -s "$SCRATCH/bodies/bizgraph-q1.json" ] && [ -s "$SCRATCH/tokens/admin.jwt" ] || die "nothing set up yet: run.sh up"; }

cmd_restart() {
  local names=(biz pgl floor) n
  if [ $# -gt 0 ]; then [ -n "${SHORT[$1]:-}" ] || die "restart bizgraph|postgraphile|floor"; names=("${SHORT[$1]}"); fi
  need_up
  for n in "${names[@]}"; do stop_server "$n"; start_server "$n"; done
}

cmd_cell() {
  [ $# -ge 3 ] || die "usage: run.sh cell bizgraph|postgraphile|floor q1|q2|q3|q4 CONNS [ROLE]"
  local row f=$SCRATCH/results/cells.tsv
  mkdir -p "$SCRATCH/results"
  [ -s "$f" ] || py cell --header >"$f"
  row=$(ROLE=${4:-admin} py_loaded cell "$1" "$2" "$3") || exit 1
  echo "$row" >>"$f"
  py cell --describe "$row" >&2
  say "appended to $f"
}

cmd_cprofile() {  # in-process: bizgraph's app from this checkout, its own venv, the bench database and token
  (cd "$ROOT" && "${BIZ_ENV[@]}" PEERS_SCRATCH="$SCRATCH" "$ROOT/.venv/bin/python" -m bench.peers.cprofile "$@")
}

cmd_lean_cpu() {  # in-process, pinned to the load core: the lean path's CPU per request, with and without the database
  (cd "$ROOT" && "${BIZ_ENV[@]}" PEERS_SCRATCH="$SCRATCH" taskset -c "$PEERS_LOAD_CPUS" "$ROOT/.venv/bin/python" -m bench.peers.lean_cpu "$@")
}

cmd_status() {
  local n t
  "$HARNESS/pg.sh" status || true
  [ ! -f "$SCRATCH/seeded" ] || echo "database $PEERS_DB: $(cat "$SCRATCH/seeded")"
  for t in bizgraph postgraphile floor; do
    n=${SHORT[$t]}
    if alive "$n" "${PATTERN[$n]}"; then echo "$t: up, pid $(cat "$(pidfile "$n")")"; else echo "$t: down"; fi
  done
}

cmd=${1:-}
[ $# -eq 0 ] || shift
case $cmd in
  up) cmd_up "$@";;
  check) need_up; py check;;
  cell) need_up; cmd_cell "$@";;
  matrix) need_up; exec "$HARNESS/matrix.sh" "$@";;
  summary) [ $# -eq 1 ] || die "usage: run.sh summary MATRIX.tsv"; f=$(realpath "$1"); py summarize "$f";;
  profile) need_up; exec "$HARNESS/profile.sh" "$@";;
  cprofile) need_up; cmd_cprofile "$@";;
  lean-cpu) need_up; cmd_lean_cpu "$@";;
  restart) cmd_restart "$@";;
  status) cmd_status;;
  env) printf 'export %q\n' "${BIZ_ENV[@]:1}";;
  psql) exec "$PGBIN/psql" -X -h 127.0.0.1 -p "$PEERS_PGPORT" -U postgres -d "$PEERS_DB" "$@";;
  down) stop_servers; "$HARNESS/pg.sh" stop;;
  *) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
     [ -z "$cmd" ] || [ "$cmd" = help ] || exit 2;;
esac
