"""Do the three targets answer the same data? (``run.sh check``; the matrix runs it first.)

Sends each target's body once per workload, brings the three shapes to one canonical value (ids →
primary keys, enums → upper case, decimal strings → Decimal, timestamps → aware datetimes, edges and
nodes → lists) and compares each with bizgraph's; the floor's JSON must moreover equal bizgraph's
``data`` exactly (values and key order; bizgraph's ``extensions`` are left out). Prints row counts
and response sizes; exits 1 on any difference.
"""

from __future__ import annotations

import base64
import json
import sys
from datetime import datetime
from decimal import Decimal
from typing import Any

from bench.peers.common import TARGETS, WORKLOADS, post, url


def pk(gid: str) -> int:  # bizgraph's global id: base64("Type:pk")
    return int(base64.b64decode(gid).decode().split(":")[1])


def dt(s: str | None) -> datetime | None:
    return None if s is None else datetime.fromisoformat(s)


def dec(s: str | None) -> Decimal | None:
    return None if s is None else Decimal(s)


def up(s: str | None) -> str | None:
    return None if s is None else s.upper()


def nodes(connection: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in connection["edges"]]


def normalize(target: str, workload: str, data: dict[str, Any]) -> Any:
    """bizgraph and the floor share bizgraph's names; the peer has its own (``rowId``, ``allCustomers``…)."""
    ours = target in ("bizgraph", "floor")

    def key(c: dict[str, Any]) -> int:
        return pk(c["id"]) if ours else int(c["rowId"])

    if workload == "q1":
        c = data["customer"] if ours else data["customerByRowId"]
        return (key(c), c["number"], c["name"], up(c["kind"]), c["email"], c["phone"], up(c["segment"]),
                c["country"], c["taxId"], dec(c["creditLimit"]), up(c["status"]))  # fmt: skip
    if workload == "q2":
        customers = []
        for c in nodes(data["customers"] if ours else data["allCustomers"]):
            orders = []
            for o in nodes(c["orders"] if ours else c["ordersByCustomerId"]):
                lines = [
                    (
                        line["quantity"],
                        dec(line["lineTotal"]),
                        (line["product"] if ours else line["productByProductId"])["name"],
                    )
                    for line in nodes(o["lines"] if ours else o["orderLinesByOrderId"])
                ]
                invoice = o["invoice"]
                orders.append(
                    (o["number"], dec(o["total"]), dt(o["placedAt"]), lines, up(invoice["status"]) if invoice else None)
                )
            customers.append((key(c), c["name"], orders))
        return customers
    if workload == "q3":
        return [
            (
                key(o),
                o["number"],
                up(o["status"]),
                dt(o["placedAt"]),
                dec(o["subtotal"]),
                dec(o["tax"]),
                dec(o["total"]),
                dt(o["createdAt"]),
            )
            for o in nodes(data["orders"] if ours else data["allOrders"])
        ]
    rows = data["ordersAggregate"] if ours else data["benchDailyRevenue"]["nodes"]
    return [(r["bucket"], int(r["count"]), dec(r["sum"]["total"] if ours else r["total"])) for r in rows]


def ordered(value: Any) -> Any:
    """The JSON value with every object as its list of items: equality then includes key order."""
    if isinstance(value, dict):
        return [(k, ordered(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [ordered(v) for v in value]
    return value


def counts(workload: str, n: Any) -> str:
    if workload == "q2":
        orders = [o for c in n for o in c[2]]
        return (
            f"{len(n)} customers, {len(orders)} orders, {sum(len(o[3]) for o in orders)} lines, "
            f"{sum(o[4] is not None for o in orders)} invoices"
        )
    return f"{len(n) if isinstance(n, list) else 1} rows"


def check(workload: str) -> int:
    """Prints the workload's comparison; returns the number of differences."""
    bad = 0
    got: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    size: dict[str, int] = {}
    for target in TARGETS:
        try:
            status, body = post(target, workload)
        except OSError as error:
            print(f"{workload} {target}: no answer from {url(target, workload)} ({error})")
            bad += 1
            continue
        document = json.loads(body)
        if status != 200 or "errors" in document:
            print(f"{workload} {target}: HTTP {status} {body[:300]!r}")
            bad += 1
            continue
        raw[target], got[target], size[target] = document, normalize(target, workload, document["data"]), len(body)
    reference = got.get("bizgraph")
    for target, n in got.items():
        same = n == reference
        bad += not same
        print(
            f"{workload} {target:12s} {size[target]:8d} bytes  {counts(workload, n)}  {'same' if same else 'DIFFERENT'}"
        )
        if not same and isinstance(n, list) and isinstance(reference, list):
            at = next(
                (i for i, (a, b) in enumerate(zip(n, reference, strict=False)) if a != b), min(len(n), len(reference))
            )
            print(f"   first difference at row {at}:")
            print(f"    {str(n[at : at + 1])[:400]}\n    {str(reference[at : at + 1])[:400]}")
    # Equal in value, key order included (dicts compare unordered: compare the item lists)
    exact = "floor" in raw and "bizgraph" in raw and ordered(raw["floor"]["data"]) == ordered(raw["bizgraph"]["data"])
    print(f"{workload} floor's data == bizgraph's data exactly (values, key order): {exact}")
    return bad + (not exact)


def main() -> None:
    bad = sum(check(workload) for workload in WORKLOADS)
    print("all equivalent" if not bad else f"{bad} differences")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
