"""Live data for the edge: a ``LiveService`` (subscriptions) that is also a ``ChangeSink``."""

from __future__ import annotations

import strawberry

from app.auth.principal import Principal
from app.db import Database
from app.live.changes import Change
from resolvers.planner.pagination import PageLimits
from schema.live.engine import LiveQueries
from schema.live.execution import LiveExecutor, as_query, root_field_name
from schema.live.feed import LiveFeed
from schema.live.streams import EventStream, StreamQueries
from schema.live.subscription_type import EVENT_STREAM
from schema.prepared import PreparedOperation

# Events one page of a stream reads at most.
STREAM_PAGE = 100


class LiveData:
    def __init__(
        self,
        schema: strawberry.Schema,
        database: Database,
        limits: PageLimits,
        *,
        interval_seconds: float = 0.1,
        stream_queue: int = 1000,
        fast_path: bool = True,
    ) -> None:
        self.schema = schema
        self.engine = LiveQueries(
            LiveExecutor(schema, database, limits, fast_path=fast_path), database, interval=interval_seconds
        )
        self.stream_queue = stream_queue

    async def subscribe(self, principal: Principal, prepared: PreparedOperation, request_id: str) -> LiveFeed:
        if root_field_name(self.schema, prepared) == EVENT_STREAM:
            queries = StreamQueries(self.schema, prepared, page_size=min(STREAM_PAGE, self.stream_queue))
            stream = EventStream(
                queries,
                principal,
                request_id,
                max_queue=self.stream_queue,
                on_close=self.engine.unwatch,
                on_room=self.engine.mark,
            )
            self.engine.watch(stream)
            return stream
        return self.engine.subscribe(principal, as_query(self.schema, prepared), request_id)

    def changed(self, change: Change) -> None:
        self.engine.changed(change)

    def resynced(self) -> None:
        self.engine.resynced()

    async def close(self) -> None:
        await self.engine.close()
