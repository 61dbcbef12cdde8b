"""What a committed transaction changed, as the live engine needs to know it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# The channel every committed change is announced on (``NOTIFY`` runs at commit).
CHANNEL = "bizgraph_changes"


@dataclass(frozen=True)
class Change:
    """Rows of ``tables`` changed in organization ``org_id``, and the change is committed.

    ``org_id`` is None when the change may concern every organization (a ``TRUNCATE``).
    """

    org_id: int | None
    tables: frozenset[str]

    def concerns(self, org_id: int, tables: frozenset[str] | None) -> bool:
        """Whether a reader of ``tables`` (None: tables unknown, so any) in ``org_id`` may see it."""
        if self.org_id is not None and self.org_id != org_id:
            return False
        return tables is None or not self.tables.isdisjoint(tables)


class ChangeSink(Protocol):
    """Who hears the changes: called on the event loop, must not block."""

    def changed(self, change: Change) -> None: ...

    def resynced(self) -> None:
        """The listener was cut off and is back: changes may have been missed meanwhile,
        so everything that depends on them must be read again (once)."""
        ...
