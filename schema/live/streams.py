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
from collections.abc import AsyncIterator, Callable, Mapping
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
from app.errors import BadRequest, StreamOverflow
from resolvers.live.batch import BatchedStatements
from schema.live.execution import LiveExecutor, LiveQuery
from schema.live.subscription_type import EVENT_EDGE_TYPE, EVENT_STREAM
from schema.prepared import PreparedOperation, prepare_operation
from schema.selection import SelectionReader

# The hidden field each page reads the position from (the client may not select ``cursor``).
_POSITION = "bizgraphStreamPosition"
_AFTER = "bizgraphStreamAfter"
_FIRST = "bizgraphStreamFirst"
_TYPES = "bizgraphStreamTypes"
_ENTITY_TYPES = "bizgraphStreamEntityTypes"


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
        head_definitions = [f"${name}: [String!]" for name in self._filter_variables]
        head_signature = f"({', '.join(head_definitions)})" if head_definitions else ""
        filter_only = filter_parts.removeprefix(", ")
        head_arguments = f"last: 1, {filter_only}" if filter_only else "last: 1"
        self._head_text = (
            f"query BizgraphEventStreamHead{head_signature} {{ {self.key}: {EVENT_STREAM}({head_arguments})"
            f" {{ edges {{ {_POSITION}: cursor }} }} }}"
        )

    def head(self) -> LiveQuery:
        return self._query(self._head_text, dict(self._filter_variables))

    def page(self, after: str | None) -> LiveQuery:
        variables = {**self._sent, **self._filter_variables, _AFTER: after, _FIRST: self.page_size}
        return self._query(self._page_text, variables)

    def _query(self, text: str, variables: Mapping[str, Any]) -> LiveQuery:
        name = text.split("(", 1)[0].split("{", 1)[0].removeprefix("query ").strip()
        prepared = prepare_operation(self.schema._schema, text, variables, name)
        return LiveQuery(text, name, variables, prepared, EVENT_STREAM)


class EventStream:
    """One stream subscription: a watcher of the live engine, and the client's feed."""

    def __init__(
        self,
        queries: StreamQueries,
        principal: Principal,
        request_id: str,
        *,
        max_queue: int,
        on_close: Callable[[EventStream], None],
        on_room: Callable[[EventStream], None],
    ) -> None:
        self.queries = queries
        self.principal = principal
        self.request_id = request_id
        self.tables: frozenset[str] | None = None
        self._position = queries.after
        # Without ``after`` the stream starts at the newest event visible now.
        self._needs_head = queries.after is None
        self._more = True
        self._queue: deque[bytes] = deque()
        self._max_queue = max_queue
        self._ready = asyncio.Event()
        self._ended = False
        self._failure: BaseException | None = None
        self._on_close = on_close
        # Replaying, it reads a page only when its queue has room for one; ``on_room``
        # asks the engine to read again once the client has made room.
        self._on_room = on_room

    # -- as a watcher

    @property
    def org_id(self) -> int:
        return self.principal.org_id

    @property
    def wanted(self) -> bool:
        return not self._ended

    @property
    def urgent(self) -> bool:
        return self._needs_head or (self._more and self._has_room)

    @property
    def _has_room(self) -> bool:
        return len(self._queue) + self.queries.page_size <= self._max_queue

    async def run(self, executor: LiveExecutor, statements: BatchedStatements) -> tuple[bool, dict[str, Any]] | None:
        if self._needs_head:
            return True, await executor.run(self.queries.head(), self.principal, self.request_id, statements)
        if self._more and not self._has_room:
            return None  # still replaying: the next page waits for the client
        return False, await executor.run(self.queries.page(self._position), self.principal, self.request_id, statements)

    def apply(self, outcome: tuple[bool, dict[str, Any]] | None) -> None:
        if outcome is None:
            return
        is_head, answer = outcome
        connection = (answer.get("data") or {}).get(self.queries.key)
        if connection is None:
            # The stream cannot be read (e.g. a malformed ``after``): its errors are its last message.
            self._push(orjson.dumps({"data": None, "errors": answer.get("errors") or []}))
            self.end()
            return
        edges: list[dict[str, Any]] = connection.get("edges") or []
        if is_head:
            self._needs_head = False
            self._more = False
            if edges:
                self._position = edges[-1][_POSITION]
            return
        errors_by_edge = _errors_by_edge(answer.get("errors") or [], self.queries.key)
        for index, edge in enumerate(edges):
            self._position = edge.pop(_POSITION)
            message: dict[str, Any] = {"data": {self.queries.key: edge}}
            if index in errors_by_edge:
                message["errors"] = errors_by_edge[index]
            self._push(orjson.dumps(message))
        self._more = bool((connection.get("pageInfo") or {}).get("hasNextPage"))
        if len(self._queue) > self._max_queue:
            # Behind by more than the queue holds: end rather than grow; the client resumes
            # from the last cursor it received.
            self._queue.clear()
            self._fail(StreamOverflow())

    def _push(self, message: bytes) -> None:
        self._queue.append(message)
        self._ready.set()

    def _fail(self, failure: BaseException) -> None:
        self._failure = failure
        self.end()

    def end(self) -> None:
        self._ended = True
        self._ready.set()

    # -- as the client's feed

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        while True:
            if self._queue:
                message = self._queue.popleft()
                if self._more and len(self._queue) + self.queries.page_size == self._max_queue:
                    self._on_room(self)
                return message
            if self._failure is not None:
                raise self._failure
            if self._ended:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()

    async def aclose(self) -> None:
        self.end()
        self._on_close(self)


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


def _errors_by_edge(errors: list[dict[str, Any]], key: str) -> dict[int, list[dict[str, Any]]]:
    """A page's errors, each at its event's message's path (``[key, "edges", i, …]`` → ``[key, …]``)."""
    by_edge: dict[int, list[dict[str, Any]]] = {}
    for error in errors:
        path = error.get("path") or []
        if len(path) >= 3 and path[0] == key and path[1] == "edges" and isinstance(path[2], int):
            by_edge.setdefault(path[2], []).append({**error, "path": [key, *path[3:]]})
    return by_edge
