"""Event streams: ``subscription { events(after:, types:, entityTypes:) { cursor node { … } } }``.

A stream reads the ``events`` query page by page after its cursor — the events' commit
position, so nothing committed later can appear behind it — with the same planner and
policy as the query: no event about a row the principal cannot see, withheld payload fields
withheld (as FORBIDDEN errors at the message's path). Each event becomes one message. It
first replays what committed after ``after``, then reads again whenever its organization's
outbox changes (a watcher of the live engine: its pages share statements with every other
stream of the same document).

Its queue is bounded: a client that reads more slowly than events come sees its stream end
with ``STREAM_OVERFLOW``, and subscribing again with the last cursor it received resumes
without loss or repetition.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Hashable, Mapping
from dataclasses import replace
from typing import Any

import orjson
import strawberry
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    VariableNode,
    Visitor,
    print_ast,
    visit,
)

from app.auth.principal import Principal
from app.errors import BadRequest, InvalidCursor, StreamOverflow
from app.live.anchors import Anchoring
from resolvers.live.batch import BatchedStatements
from resolvers.planner.cursors import decode_cursor
from schema.live.execution import LiveExecutor, LiveQuery
from schema.live.feed import SignalledFeed
from schema.live.subscription_type import EVENT_EDGE_TYPE, EVENT_STREAM
from schema.prepared import PreparedOperation, prepare_operation
from schema.selection import SelectionReader

# The hidden field each page reads the position from (the client may not select ``cursor``).
_POSITION = "bizgraphStreamPosition"
_AFTER = "bizgraphStreamAfter"
_FIRST = "bizgraphStreamFirst"
_TYPES = "bizgraphStreamTypes"
_ENTITY_TYPES = "bizgraphStreamEntityTypes"
# The ordering the events' cursors are made for (``resolvers/planner/cursors.py``).
_ORDER = "POSITION:ASC"


class StreamQueries:
    """The queries one stream subscription reads with: its head (where "now" is) and its pages."""

    def __init__(self, schema: strawberry.Schema, subscription: PreparedOperation, page_size: int) -> None:
        self.schema = schema
        self.page_size = page_size
        operation = subscription.operation
        roots = operation.selection_set.selections
        if len(roots) != 1 or not isinstance(roots[0], FieldNode) or roots[0].name.value != EVENT_STREAM:
            raise BadRequest(f"write the `{EVENT_STREAM}` field directly in the subscription, without fragments")
        root = roots[0]
        self.key = root.alias.value if root.alias else root.name.value
        arguments = _arguments(self.schema, subscription)
        self.after: str | None = arguments.get("after")
        filter_parts, self._filter_variables = _filter(arguments.get("types"), arguments.get("entityTypes"))
        fragments = _reachable_fragments(root, subscription.fragments)
        # The root field's own arguments are read here, not sent on: only its selection's variables stay.
        used = _variables_used([*([root.selection_set] if root.selection_set else []), *fragments])
        declared = [v for v in operation.variable_definitions or () if v.variable.name.value in used]
        self._sent = {k: v for k, v in subscription.sent_variables.items() if k in used}
        definitions = [print_ast(v) for v in declared]
        definitions += [f"${_AFTER}: String", f"${_FIRST}: Int!"]
        definitions += [f"${name}: [String!]" for name in self._filter_variables]
        selection = print_ast(root.selection_set) if root.selection_set else "{ __typename }"
        self._page_text = (
            f"query BizgraphEventStream({', '.join(definitions)}) {{ {self.key}: {EVENT_STREAM}("
            f"first: ${_FIRST}, after: ${_AFTER}{filter_parts}) {{ edges {{ {_POSITION}: cursor"
            f" ... on {EVENT_EDGE_TYPE} {selection} }} pageInfo {{ hasNextPage }} }} }}\n"
            + "\n".join(print_ast(fragment) for fragment in fragments)
        )
        # "Now" is the newest event the principal may see, whatever the filter: a filter that
        # matches nothing yet must not leave the stream reading from the first event on.
        self._head_text = (
            f"query BizgraphEventStreamHead {{ {self.key}: {EVENT_STREAM}(last: 1)"
            f" {{ edges {{ {_POSITION}: cursor }} }} }}"
        )
        self._head: LiveQuery | None = None
        self._first_page: LiveQuery | None = None

    @property
    def key_of_reads(self) -> tuple[str, bytes]:
        """What the stream's reads depend on besides its position and the principal."""
        variables = {**self._sent, **self._filter_variables}
        return self._page_text, orjson.dumps(variables, option=orjson.OPT_SORT_KEYS)

    @property
    def page_text(self) -> str:
        """The document of the stream's pages."""
        return self._page_text

    def head(self) -> LiveQuery:
        if self._head is None:
            self._head = self._query(self._head_text, {})
        return self._head

    def page(self, after: str | None) -> LiveQuery:
        """The page after ``after``. Prepared once: a caught-up stream reads a page at every
        change, and only its position differs from one read to the next."""
        if self._first_page is None:
            variables = {**self._sent, **self._filter_variables, _AFTER: None, _FIRST: self.page_size}
            self._first_page = self._query(self._page_text, variables)
        first = self._first_page
        if after is None:
            return first
        variables = {**first.sent_variables, _AFTER: after}
        prepared = first.prepared
        if prepared is not None:
            # ``String`` coerces a string to itself: the position is bound as it is.
            prepared = replace(prepared, variables={**prepared.variables, _AFTER: after}, sent_variables=variables)
        return LiveQuery(first.text, first.operation_name, variables, prepared, EVENT_STREAM)

    def _query(self, text: str, variables: Mapping[str, Any]) -> LiveQuery:
        name = text.split("(", 1)[0].split("{", 1)[0].removeprefix("query ").strip()
        prepared = prepare_operation(self.schema._schema, text, variables, name)
        return LiveQuery(text, name, variables, prepared, EVENT_STREAM)


class EventStream(SignalledFeed):
    """One stream subscription: the client's feed, its position and its bounded queue. Its
    group reads for it."""

    def __init__(self, group: StreamGroup, after: str | None, *, max_queue: int) -> None:
        super().__init__()
        self.group = group
        self.position = after
        # Without ``after`` the stream starts at the newest event visible now.
        self.needs_head = after is None
        # Replaying: there is more to read than one page brought.
        self.more = after is not None
        self._queue: deque[bytes] = deque()
        self._max_queue = max_queue
        self._failure: BaseException | None = None

    @property
    def has_room(self) -> bool:
        return len(self._queue) + self.group.queries.page_size <= self._max_queue

    @property
    def reads_now(self) -> bool:
        """Whether it takes part in its group's next read: caught up, a change may bring
        events (an overflow ends it); replaying, it reads only with room for a whole page."""
        return not self.ended and not self.needs_head and (not self.more or self.has_room)

    def start_at(self, position: str | None) -> None:
        self.needs_head = False
        self.position = position

    def skip_to(self, head: str) -> None:
        """Caught up as of a read that began after ``head`` was the newest event (and ``head``
        lies beyond its position, ``StreamGroup.apply`` checked): nothing up to ``head`` is left
        for it, so its next read starts there, not at the last event it received (a filter that
        matches little would otherwise read every event since then again at each change, and
        streams of one group would sit at as many positions)."""
        if not self.ended:
            self.position = head

    def deliver(self, page: list[tuple[str, bytes]], more: bool) -> None:
        if self.ended:
            return  # ended while its page was read: nobody takes it
        for position, message in page:
            self.position = position
            self._queue.append(message)
        self.more = more
        if len(self._queue) > self._max_queue:
            # Behind by more than the queue holds: end rather than grow; the client resumes
            # from the last cursor it received.
            self._queue.clear()
            self.fail(StreamOverflow())
        elif page:
            self._notify()

    def last_message(self, message: bytes) -> None:
        self._queue.append(message)
        self.end()

    def fail(self, failure: BaseException) -> None:
        self._failure = failure
        self.end()

    # -- as the client's feed

    def take_ready(self) -> list[bytes]:
        if not self._queue:
            return []
        had_room = self.has_room
        taken = list(self._queue)
        self._queue.clear()
        if self.more and not had_room:
            # As ``__anext__`` does when the queue shrinks to a page's room: the group reads on.
            self.group.room_made(self)
        return taken

    async def __anext__(self) -> bytes:
        while True:
            if self._queue:
                message = self._queue.popleft()
                if self.more and len(self._queue) + self.group.queries.page_size == self._max_queue:
                    self.group.room_made(self)
                return message
            if self._failure is not None:
                raise self._failure
            if self.ended:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()

    async def aclose(self) -> None:
        self.end()
        self.group.leave(self)


_Page = tuple[list[EventStream], dict[str, Any]]


class StreamGroup:
    """The streams of one organization, document, filters and effective scope: a watcher of
    the live engine. Streams at the same position share each read (caught-up streams all
    sit at the newest event), so a change costs one read per position, not per stream."""

    def __init__(
        self,
        queries: StreamQueries,
        principal: Principal,
        request_id: str,
        *,
        on_room: Callable[[StreamGroup], None],
        on_empty: Callable[[StreamGroup], None],
    ) -> None:
        self.queries = queries
        self.principal = principal
        self.request_id = request_id
        self.tables: frozenset[str] | None = None
        # Events are read by position: any new event of the organization may be one.
        self.anchoring: Anchoring | None = None
        self.members: set[EventStream] = set()
        # The newest event's position as the last round read it (None: not read, or no event).
        self._head_seen: str | None = None
        self._on_room = on_room
        self._on_empty = on_empty

    def join(self, stream: EventStream) -> None:
        self.members.add(stream)

    def leave(self, stream: EventStream) -> None:
        self.members.discard(stream)
        if not self.members:
            self._on_empty(self)

    def room_made(self, stream: EventStream) -> None:
        self._on_room(self)

    # -- as a watcher

    @property
    def org_id(self) -> int:
        return self.principal.org_id

    @property
    def lane(self) -> Hashable:
        # Streams whose pages are one document (their filters are its variables) share a lane.
        return self.queries.page_text

    @property
    def wanted(self) -> bool:
        return any(not m.ended for m in self.members)

    @property
    def urgent(self) -> bool:
        return any(m.needs_head or (m.more and m.reads_now) for m in self.members)

    async def run(
        self, executor: LiveExecutor, statements: BatchedStatements
    ) -> tuple[_Page | None, list[tuple[str | None, _Page]]]:
        members = [m for m in self.members if not m.ended]
        heads = [m for m in members if m.needs_head]
        by_position: dict[str | None, list[EventStream]] = {}
        for member in members:
            if member.reads_now:
                by_position.setdefault(member.position, []).append(member)

        async def read(query: LiveQuery) -> dict[str, Any]:
            return await executor.run(query, self.principal, self.request_id, statements)

        positions = list(by_position)
        # The head is read for the streams that start now and, when some are caught up, for
        # the next round: where they may skip to (``apply``).
        read_head = bool(heads) or any(not m.more for m in members if m.reads_now)
        answers = await asyncio.gather(
            *([read(self.queries.head())] if read_head else []),
            *(read(self.queries.page(position)) for position in positions),
        )
        head = (heads, answers[0]) if read_head else None
        pages = answers[1:] if read_head else answers
        return head, [(p, (by_position[p], a)) for p, a in zip(positions, pages, strict=True)]

    def apply(self, outcome: tuple[_Page | None, list[tuple[str | None, _Page]]]) -> None:
        head, pages = outcome
        # The head read in an earlier round: every event up to it had committed before this
        # round's pages were read (positions follow commit order, alembic 0004), so a stream
        # whose page came back with nothing more to read has seen all it may of them.
        earlier_head, newest = self._head_seen, None
        if head is not None:
            streams, answer = head
            connection = self._connection(streams, answer)
            if connection is not None:
                edges = connection.get("edges") or []
                newest = edges[-1][_POSITION] if edges else None
                for stream in streams:
                    stream.start_at(newest)
        # Kept for the next round only: this round's pages ran beside it, not after it.
        self._head_seen = newest
        for read_from, (streams, answer) in pages:
            connection = self._connection(streams, answer)
            if connection is None:
                continue
            errors_by_edge = _errors_by_edge(answer.get("errors") or [], self.queries.key)
            page: list[tuple[str, bytes]] = []
            for index, edge in enumerate(connection.get("edges") or []):
                position = edge.pop(_POSITION)
                message: dict[str, Any] = {"data": {self.queries.key: edge}}
                if index in errors_by_edge:
                    message["errors"] = errors_by_edge[index]
                # One serialization for every stream at this position.
                page.append((position, orjson.dumps(message)))
            more = bool((connection.get("pageInfo") or {}).get("hasNextPage"))
            # Every stream of this read stands where the page ends (or where it read from):
            # whether it skips on is decided once for all of them.
            reached = page[-1][0] if page else read_from
            skip = None if more or earlier_head is None else _beyond(earlier_head, reached)
            for stream in streams:
                stream.deliver(page, more)
                if skip is not None:
                    stream.skip_to(skip)

    def _connection(self, streams: list[EventStream], answer: dict[str, Any]) -> dict[str, Any] | None:
        connection: dict[str, Any] | None = (answer.get("data") or {}).get(self.queries.key)
        if connection is None:
            # The stream cannot be read (e.g. a malformed ``after``): its errors are its last message.
            message = orjson.dumps({"data": None, "errors": answer.get("errors") or []})
            for stream in streams:
                stream.last_message(message)
        return connection

    def end(self) -> None:
        for member in self.members:
            member.end()


def _arguments(schema: strawberry.Schema, subscription: PreparedOperation) -> dict[str, Any]:
    root_type = schema._schema.subscription_type
    assert root_type is not None
    reader = SelectionReader(schema._schema, subscription.fragments, subscription.variables)
    fields = reader.fields_of(root_type, [subscription.operation.selection_set])
    return dict(fields[0].args)


def _filter(types: list[str] | None, entity_types: list[str] | None) -> tuple[str, dict[str, list[str]]]:
    parts: list[str] = []
    variables: dict[str, list[str]] = {}
    if types is not None:
        parts.append(f"type: {{ in: ${_TYPES} }}")
        variables[_TYPES] = list(types)
    if entity_types is not None:
        parts.append(f"entityType: {{ in: ${_ENTITY_TYPES} }}")
        variables[_ENTITY_TYPES] = list(entity_types)
    return (f", filter: {{ {', '.join(parts)} }}" if parts else ""), variables


class _Spreads(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> None:
        self.names.append(node.name.value)


def _reachable_fragments(
    root: FieldNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> list[FragmentDefinitionNode]:
    found: dict[str, FragmentDefinitionNode] = {}
    pending: list[Any] = [root]
    while pending:
        spreads = _Spreads()
        visit(pending.pop(), spreads)
        for name in spreads.names:
            if name not in found and name in fragments:
                found[name] = fragments[name]
                pending.append(fragments[name])
    return list(found.values())


def _variables_used(nodes: list[Any]) -> set[str]:
    used: set[str] = set()

    class Variables(Visitor):
        def enter_variable(self, node: VariableNode, *_: Any) -> None:
            used.add(node.name.value)

    for node in nodes:
        visit(node, Variables())
    return used


def _position_key(cursor: str) -> tuple[int, int]:
    """An events cursor's place in commit order (its position, then its id)."""
    position, event_id = decode_cursor(cursor, _ORDER, 2)
    return int(position or 0), int(event_id or 0)


def _beyond(head: str, reached: str | None) -> str | None:
    """``head`` when it lies past ``reached`` in commit order (or nothing was reached yet)."""
    if reached is None:
        return head
    try:
        return head if _position_key(head) > _position_key(reached) else None
    except InvalidCursor:
        return None  # a position of another ordering: its reads answer that error themselves


def _errors_by_edge(errors: list[dict[str, Any]], key: str) -> dict[int, list[dict[str, Any]]]:
    """A page's errors, each at its event's message's path (``[key, "edges", i, …]`` → ``[key, …]``)."""
    by_edge: dict[int, list[dict[str, Any]]] = {}
    for error in errors:
        path = error.get("path") or []
        if len(path) >= 3 and path[0] == key and path[1] == "edges" and isinstance(path[2], int):
            by_edge.setdefault(path[2], []).append({**error, "path": [key, *path[3:]]})
    return by_edge
