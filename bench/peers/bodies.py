"""The POST bodies of the three targets, into OUTDIR (``run.sh up`` runs this):

- ``bizgraph-qN.json``: bizgraph's own document from ``bench/workloads.py`` with its first set of variables;
- ``postgraphile-qN.json``: the peer's document (``postgraphile/queries/qN.graphql``, in the peer's own
  naming) with variables for the same rows;
- ``floor-qN.json``: bizgraph's body again (the floor reads nothing from it: its statement and
  parameters come from ``bench/workloads.py`` too, see ``floor/app.py``).

    DATABASE_URL=... python -m bench.peers.bodies OUTDIR
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from bench import workloads
from bench.peers.common import HERE


def peer_document(workload: str) -> str:
    """The peer's query file, its comment lines dropped and white space collapsed to single spaces."""
    lines = (HERE / "postgraphile" / "queries" / f"{workload}.graphql").read_text().splitlines()
    return " ".join(" ".join(line for line in lines if not line.lstrip().startswith("#")).split())


def peer_variables(context: workloads.DataContext) -> dict[str, dict[str, Any]]:
    org = str(context.org_id)
    return {
        "q1": {"id": str(context.customer_ids[0])},
        "q2": {"org": org},
        "q3": {"org": org},
        "q4": {"org": org, "since": context.since.isoformat()},
    }


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: DATABASE_URL=... python -m bench.peers.bodies OUTDIR")
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    context = workloads.load_context(os.environ["DATABASE_URL"], sample=1000)
    print(
        f"peers: org {context.org_id} ({context.org_slug}, {context.time_zone}), Q1 customer"
        f" {context.customer_ids[0]}, Q4 since {context.since.isoformat()}, latest order {context.latest.isoformat()}",
        file=sys.stderr,
    )
    peer = peer_variables(context)
    for built in workloads.build(list(workloads.ALL), context):
        key = built.key.lower()
        ours = {"query": built.query, "variables": built.variables[0]}
        theirs = {"query": peer_document(key), "variables": peer[key]}
        for target, body in (("bizgraph", ours), ("postgraphile", theirs), ("floor", ours)):
            (out / f"{target}-{key}.json").write_text(json.dumps(body))


if __name__ == "__main__":
    main()
