"""The cyclic collector of a started app (app/server.py): what existed at start is frozen out of
its generations, and young collections run every 50,000 net allocations, not CPython's 700 (at
10,000 subscribers the default promoted every burst's in-flight objects and full collections of
seconds followed)."""

from __future__ import annotations

import gc

from app.server import COLLECTOR_THRESHOLDS
from tests.support.graphql import running_app


async def test_a_started_app_freezes_what_it_built_and_collects_young_objects_less_often(demo_settings):
    async with running_app(demo_settings):
        assert gc.get_threshold() == COLLECTOR_THRESHOLDS
        assert COLLECTOR_THRESHOLDS[0] >= 10_000
        assert gc.get_freeze_count() > 0
