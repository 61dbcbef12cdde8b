"""Fixtures of the live-data tests."""

from __future__ import annotations

from typing import Any

import pytest

from schema.live.service import LiveData


@pytest.fixture
async def deaf_live(writes_app: Any) -> Any:
    """A live engine over the writes database that hears only the changes a test hands it:
    what one change costs is counted without the listener's own deliveries in between."""
    state = writes_app.state
    live = LiveData(state.live.schema, state.database, state.page_limits)
    yield live
    await live.close()
