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
    # Whose rows of the sales ledger changed (alembic 0009): the customers, and their account
    # managers before and after. None: unknown, so the change may concern anyone who reads
    # ``tables``.
    customers: frozenset[int] | None = None
    managers: frozenset[int] | None = None


class ChangeSink(Protocol):
    """Who hears the changes: called on the event loop, must not block."""

    def changed(self, change: Change) -> None: ...

    def resynced(self) -> None:
        """The listener was cut off and is back: changes may have been missed meanwhile,
        so everything that depends on them must be read again (once)."""
        ...
