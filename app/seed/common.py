"""What every seed generator shares: the fixed clock, money, random streams and row buffers."""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

# Every date is relative to this instant, never to now(): the same seed gives the
# same bytes whenever it runs.
ANCHOR = datetime(2026, 10, 31, tzinfo=UTC)
ANCHOR_DAY: date = ANCHOR.date()
DAY = 86_400
YEAR_DAYS = 365

# One table row, its values in column order. Rows mix every column type (ids, text,
# money, times, arrays) and some are read back by position, hence ``Any``.
Row = tuple[Any, ...]

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def cents(amount: int) -> Decimal:
    """An exact two-place Decimal from integer cents (12345 -> 123.45)."""
    return Decimal(amount).scaleb(-2)


def round_cents(value: Decimal) -> Decimal:
    # Half-up matches PostgreSQL's round(numeric, 2) for the positive amounts we make.
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def at(seconds_before_anchor: int) -> datetime:
    """The instant that many seconds before the anchor (times are kept as ints until written)."""
    return ANCHOR - timedelta(seconds=seconds_before_anchor)


def day_at(seconds_before_anchor: int) -> date:
    return at(seconds_before_anchor).date()


def rng_for(seed: int, *scope: str) -> random.Random:
    """An independent stream per seed and scope (org, domain), so that changing one
    generator never shifts the data of another. String seeds hash with SHA-512, which
    is stable across runs and interpreters, unlike hash()."""
    return random.Random(":".join(("bizgraph-seed", str(seed), *scope)))


def quota(rng: random.Random, n: int, shares: dict[str, float]) -> list[str]:
    """``n`` labels in the given proportions, shuffled; every label appears at least
    once when ``n`` allows it, so even the tiny data set has every state."""
    labels = list(shares)
    counts = {label: int(n * shares[label]) for label in labels}
    if n >= len(labels):
        for label in labels:
            counts[label] = max(1, counts[label])
    # Hand out (or take back) the rounding difference starting with the largest share.
    by_share = sorted(labels, key=lambda label: -shares[label])
    i = 0
    while sum(counts.values()) != n:
        label = by_share[i % len(by_share)]
        if sum(counts.values()) < n:
            counts[label] += 1
        elif counts[label] > 1:
            counts[label] -= 1
        i += 1
    out = [label for label in labels for _ in range(counts[label])]
    rng.shuffle(out)
    return out


def fill_pattern(rng: random.Random, pattern: str) -> str:
    """'#' becomes a digit and 'A' an uppercase letter: postal codes, tax ids, phones."""
    out = []
    for ch in pattern:
        if ch == "#":
            out.append(chr(48 + rng.randrange(10)))
        elif ch == "A":
            out.append(chr(65 + rng.randrange(26)))
        else:
            out.append(ch)
    return "".join(out)


# Where a table's rows go once generated: (table, columns, rows), rows in id order.
Sink = Callable[[str, Sequence[str], Sequence[Row]], None]


class Dataset:
    """The rows of every table not yet written, kept in load order (parents before
    children), and the next id of each table: ids are assigned here rather than by the
    identity columns so that they are part of what the seed determines.

    With a ``sink``, ``spill`` hands the buffered rows of the tables named ``streamed``
    to it once ``batch`` of them have gathered, so the largest tables never sit in memory
    whole (a million orders are a few gigabytes as Python objects); ``flush`` writes
    the rest at the end. Rows of a streamed table are gone once written, so no
    generator may read them back from ``rows``; the other tables stay until ``flush``.
    Without a sink everything stays in ``rows``."""

    def __init__(
        self,
        tables: Sequence[tuple[str, tuple[str, ...]]],
        *,
        sink: Sink | None = None,
        streamed: Collection[str] = (),
        batch: int = 50_000,
    ) -> None:
        self.columns: dict[str, tuple[str, ...]] = dict(tables)
        self.rows: dict[str, list[Row]] = {name: [] for name, _ in tables}
        self._next_id: dict[str, int] = {name: 1 for name, _ in tables}
        self._written: dict[str, int] = {name: 0 for name, _ in tables}
        self._sink = sink
        self._streamed = [name for name, _ in tables if name in streamed]
        self._batch = batch

    def reserve(self, table: str, count: int) -> int:
        """Reserve ``count`` consecutive ids and return the first."""
        first = self._next_id[table]
        self._next_id[table] = first + count
        return first

    def spill(self) -> None:
        """Write out each streamed table whose buffer holds at least a batch."""
        for table in self._streamed:
            if len(self.rows[table]) >= self._batch:
                self._write(table)

    def flush(self) -> None:
        """Write out every table's remaining rows, parents first."""
        for table, rows in self.rows.items():
            if rows:
                self._write(table)

    def _write(self, table: str) -> None:
        if self._sink is None:
            return
        rows = self.rows[table]
        self._sink(table, self.columns[table], rows)
        self._written[table] += len(rows)
        # Emptied in place: generators hold on to these lists while they append.
        rows.clear()

    def counts(self) -> dict[str, int]:
        return {name: self._written[name] + len(rows) for name, rows in self.rows.items()}
