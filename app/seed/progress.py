"""Progress bars on the terminal when asked for, and nothing otherwise."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm import tqdm


class Progress:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    @contextmanager
    def bar(self, label: str, total: int, unit: str) -> Iterator[Callable[[int], None]]:
        """A bar for one phase; the phase calls the yielded function with each step done."""
        if not self.enabled:
            yield lambda _done: None
            return
        with tqdm(
            total=total, desc=label, unit=f" {unit}", unit_scale=True, file=sys.stderr, dynamic_ncols=True, leave=True
        ) as bar:
            yield bar.update
