"""Live data for the edge: a ``LiveService`` (subscriptions) that is also a ``ChangeSink``."""

from __future__ import annotations

from collections.abc import Hashable

import strawberry

from app.auth.principal import Principal
from app.db import Database
from app.live.changes import Change
from resolvers.planner.pagination import PageLimits
from schema.live.engine import LiveQueries, effective_scope
from schema.live.execution import LiveExecutor, as_query, root_field_name
from schema.live.feed import LiveFeed
from schema.live.streams import EventStream, StreamGroup, StreamQueries
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
        self._stream_groups: dict[Hashable, StreamGroup] = {}

    async def subscribe(self, principal: Principal, prepared: PreparedOperation, request_id: str) -> LiveFeed:
        if root_field_name(self.schema, prepared) == EVENT_STREAM:
            return self._stream(principal, prepared, request_id)
        return self.engine.subscribe(principal, as_query(self.schema, prepared), request_id)

    def _stream(self, principal: Principal, prepared: PreparedOperation, request_id: str) -> EventStream:
        queries = StreamQueries(self.schema, prepared, page_size=min(STREAM_PAGE, self.stream_queue))
        key = (principal.org_id, queries.key_of_reads, effective_scope(principal, EVENT_STREAM))
        group = self._stream_groups.get(key)
        if group is None:
            group = StreamGroup(queries, principal, request_id, on_room=self.engine.mark, on_empty=self._forget)
            self._stream_groups[key] = group
            self.engine.watch(group)
        stream = EventStream(group, queries.after, max_queue=self.stream_queue)
        group.join(stream)
        self.engine.mark(group)
        return stream

    def _forget(self, group: StreamGroup) -> None:
        for key, known in list(self._stream_groups.items()):
            if known is group:
                del self._stream_groups[key]
        self.engine.unwatch(group)

    def changed(self, change: Change) -> None:
        self.engine.changed(change)

    def resynced(self) -> None:
        self.engine.resynced()

    async def close(self) -> None:
        await self.engine.close()
