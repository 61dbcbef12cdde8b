#!/usr/bin/env bash
# pg.sh start|stop|status: the harness's own PostgreSQL cluster (Debian postgresql-15 binaries).
#   127.0.0.1:$PEERS_PGPORT (5544), data $PEERS_SCRATCH/pgdata, socket + postgres.log in $PEERS_SCRATCH/pgsock,
#   trust auth on loopback, superuser "postgres". The postmaster is pinned with taskset to $PEERS_SUT_CPUS:
#   every backend it forks inherits the mask. Idempotent; installs postgresql-15 with apt when root and missing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
PGDATA_DIR=$SCRATCH/pgdata
SOCKDIR=$SCRATCH/pgsock

ensure_binaries() {
  if [ ! -x "$PGBIN/pg_ctl" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing postgresql-$PG_MAJOR with apt (Debian also creates a 'main' cluster; the harness never uses it)"
    timeout 600 apt-get update -qq
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq "postgresql-$PG_MAJOR" >/dev/null
  fi
  [ -x "$PGBIN/pg_ctl" ] || die "no $PGBIN/pg_ctl: install Debian's postgresql-$PG_MAJOR"
}

case "${1:-start}" in
  stop)
    if [ -f "$PGDATA_DIR/postmaster.pid" ]; then as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null && say "cluster stopped"
    else say "cluster not running"; fi
    exit 0;;
  status)
    [ -x "$PGBIN/pg_ctl" ] && [ -d "$PGDATA_DIR" ] || { echo "no cluster in $PGDATA_DIR"; exit 3; }
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null && echo "cluster up: 127.0.0.1:$PEERS_PGPORT ($PGDATA_DIR)" \
      || { echo "cluster down ($PGDATA_DIR)"; exit 3; }
    exit 0;;
  start) ;;
  *) die "usage: pg.sh start|stop|status";;
esac

ensure_binaries
mkdir -p "$SCRATCH" "$SOCKDIR"
[ "$(id -u)" != 0 ] || chown postgres:postgres "$SOCKDIR"
if [ ! -s "$PGDATA_DIR/PG_VERSION" ]; then
  mkdir -p "$PGDATA_DIR"; chmod 700 "$PGDATA_DIR"
  [ "$(id -u)" != 0 ] || chown postgres:postgres "$PGDATA_DIR"
  as_pg "$PGBIN/initdb" -D "$PGDATA_DIR" -U postgres --auth-local=trust --auth-host=trust \
      --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  cat >>"$PGDATA_DIR/postgresql.conf" <<CONF
# ---- bizgraph side-by-side benchmark (bench/peers/pg.sh) ----
listen_addresses = '127.0.0.1'
port = $PEERS_PGPORT
unix_socket_directories = '$SOCKDIR'
max_connections = 200
shared_buffers = 4GB
effective_cache_size = 12GB
work_mem = 32MB
maintenance_work_mem = 1GB
timezone = 'UTC'
log_timezone = 'UTC'
# JIT compiles plans whose cost > 100000; off = the usual OLTP setting
jit = off
# scratch data, re-creatable from the seed: durability off for fast loads (reads are unaffected)
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
max_wal_size = 8GB
checkpoint_timeout = 30min
autovacuum = on
logging_collector = off
CONF
  say "initdb done in $PGDATA_DIR"
fi
[ "$(cat "$PGDATA_DIR/PG_VERSION")" = "$PG_MAJOR" ] \
  || die "$PGDATA_DIR holds a PostgreSQL $(cat "$PGDATA_DIR/PG_VERSION") cluster, not $PG_MAJOR: remove it or set PEERS_PG_MAJOR"
if as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
  say "cluster already running on 127.0.0.1:$PEERS_PGPORT"
else
  as_pg taskset -c "$PEERS_SUT_CPUS" "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$SOCKDIR/postgres.log" -w -t 60 start >/dev/null
  say "cluster started on 127.0.0.1:$PEERS_PGPORT (CPU $PEERS_SUT_CPUS), log $SOCKDIR/postgres.log"
fi
