"""What a seed run did: rows per table and seconds per phase."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class SeedReport:
    scale: str
    seed: int
    counts: dict[str, int] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)  # seconds, in the order they ran
    seconds: float = 0.0

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.record(name, time.perf_counter() - started)

    def record(self, name: str, seconds: float) -> None:
        """A phase timed by the caller (generating and loading interleave)."""
        self.phases[name] = self.phases.get(name, 0.0) + seconds
        self.seconds += seconds

    @property
    def total_rows(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        phases = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.phases.items())
        tables = [f"{name} {count:,}" for name, count in self.counts.items()]
        lines = [
            f"seeded scale {self.scale} with seed {self.seed}: {self.total_rows:,} rows in {self.seconds:.1f} s"
            f" ({phases})"
        ]
        for start in range(0, len(tables), 4):
            lines.append("  " + ", ".join(tables[start : start + 4]))
        return "\n".join(lines)
