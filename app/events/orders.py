"""The orders events (declared with ``declare``; see the package docstring)."""

from __future__ import annotations
