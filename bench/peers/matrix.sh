#!/usr/bin/env bash
# matrix.sh [ROUNDS] [SECONDS] ["CONNS..."]   (run.sh matrix): interleaved rounds over the three targets.
# Each round runs every cell once, the targets' order rotated from round to round:
#   round 1 bizgraph, postgraphile, floor; round 2 postgraphile, floor, bizgraph; round 3 floor, bizgraph, ...
#   for conns in CONNS: for workload in q1..q4: for target in (rotated): one cell (bench/peers/cell.py)
# then the role cells: bizgraph as analyst and sales on q2, q3 at the first CONNS value.
# Before each cell: wait (at most PEERS_IDLE_WAIT = 60 s) until other load + steal < 0.10 core over 2 s; a cell
# that ran with other + steal > 0.15 core is run once more (the summary keeps the quieter try of each round).
# Writes $PEERS_SCRATCH/results/matrix-<UTC time>.tsv (PEERS_OUT overrides) and the tables next to it (.md).
# Env: WARMUP (5 s), PEERS_WORKLOADS ("q1 q2 q3 q4"), PEERS_ROLES ("analyst sales"; empty: no role cells),
#      PEERS_ROLE_WORKLOADS ("q2 q3").
set -uo pipefail
. "$(dirname "$0")/lib.sh"
ROUNDS=${1:-3}
export DURATION=${2:-15}
CONNS=${3:-"16 64"}
WORKLOADS=${PEERS_WORKLOADS:-"q1 q2 q3 q4"}
ROLES=${PEERS_ROLES-"analyst sales"}
ROLE_WORKLOADS=${PEERS_ROLE_WORKLOADS:-"q2 q3"}
ROLE_CONNS=${CONNS%% *}
[[ $ROUNDS =~ ^[1-9][0-9]*$ && $DURATION =~ ^[1-9][0-9]*$ ]] || die "usage: matrix [ROUNDS] [SECONDS] [\"CONNS...\"]"
mkdir -p "$SCRATCH/results"
OUT=${PEERS_OUT:-$SCRATCH/results/matrix-$(date -u +%Y%m%dT%H%M%SZ).tsv}
OUT=$(realpath -m "$OUT")

# Equivalence first: a target answering something else is not worth measuring.
py check >&2 || die "the targets disagree (above); fix that before measuring"

n_cells=$(( $(wc -w <<<"$CONNS") * $(wc -w <<<"$WORKLOADS") * 3 + $(wc -w <<<"$ROLES") * $(wc -w <<<"$ROLE_WORKLOADS") ))
say "$ROUNDS rounds x $n_cells cells of ${WARMUP:-5}+$DURATION s: about $(( ROUNDS * n_cells * (${WARMUP:-5} + DURATION + 5) / 60 )) min"
say "results -> $OUT"
py cell --header >"$OUT"

wait_idle() {
  local t=$SECONDS o=
  while (( SECONDS - t < ${PEERS_IDLE_WAIT:-60} )); do
    o=$(py cpusnap other 2) || return 0
    awk -v o="$o" 'BEGIN { exit !(o < 0.10) }' && return 0
  done
  say "  (not idle after ${PEERS_IDLE_WAIT:-60} s: other + steal = ${o:-?} core; running anyway)"
}

run_cell() {  # round target workload conns [role]
  local try line o
  for try in 1 2; do
    wait_idle
    line=$(TAG="$1/$try" ROLE=${5:-admin} py_loaded cell "$2" "$3" "$4") || { say "cell failed: $*"; return; }
    echo "$line" | tee -a "$OUT"
    o=$(awk -F'\t' '{ print $18 + $19 }' <<<"$line")   # other_cores + steal_cores
    awk -v o="$o" 'BEGIN { exit !(o > 0.15) }' || break
  done
}

for r in $(seq 1 "$ROUNDS"); do
  case $(( (r - 1) % 3 )) in
    0) T="bizgraph postgraphile floor";;
    1) T="postgraphile floor bizgraph";;
    2) T="floor bizgraph postgraphile";;
  esac
  say "== round $r ($T) $(date -u +%T)"
  for c in $CONNS; do for w in $WORKLOADS; do for t in $T; do run_cell "$r" "$t" "$w" "$c"; done; done; done
  for role in $ROLES; do for w in $ROLE_WORKLOADS; do run_cell "$r" bizgraph "$w" "$ROLE_CONNS" "$role"; done; done
done
say "done $(date -u +%T)"
py summarize "$OUT" | tee "${OUT%.tsv}.md"
say "tables -> ${OUT%.tsv}.md"
