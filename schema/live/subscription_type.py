"""The ``Subscription`` root type: every ``Query`` root field, live, and the event stream.

A live field has the ``Query`` field's type, arguments, description and cost directives, so
a dashboard turns a query into a subscription by changing one word. ``events`` is the one
exception: as a subscription it is the stream of committed business events, one message per
event, resumable from a cursor.

Subscriptions are not executed by graphql-core's ``subscribe``: the live engine
(``engine.py``) re-runs a subscription's operation as the query it mirrors, for every
subscriber group at once, so these fields carry no resolvers of their own.
"""

from __future__ import annotations

from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
)

EVENT_STREAM = "events"
EVENT_EDGE_TYPE = "IntegrationEventEdge"

_LIVE = (
    " Live: the first message is the current answer, then a new one each time the answer changes "
    "(the same answer the query gives at that moment)."
)

_STREAM = (
    "The organization's business events as they commit, one message per event, in commit order, "
    "filtered by the same policy as the `events` query. Pass `after` (the cursor of the last event "
    "received) to resume after a disconnect: the stream replays what committed since, then goes on "
    "live, without losing or repeating an event. Without `after` it starts with the next event to commit."
)


def with_subscriptions(schema: GraphQLSchema) -> GraphQLSchema:
    """``schema`` with its ``Subscription`` type (graphql-core schemas are immutable once built)."""
    query = schema.query_type
    if query is None:
        raise ValueError("a schema with subscriptions needs a Query type")
    fields = {name: _live(field) for name, field in query.fields.items() if name != EVENT_STREAM}
    fields[EVENT_STREAM] = _event_stream(schema)
    subscription = GraphQLObjectType(
        "Subscription",
        fields,
        description="Live data: every Query root field as a live query, and the stream of business events.",
    )
    types = [named for name, named in schema.type_map.items() if not name.startswith("__")]
    return GraphQLSchema(
        query=query,
        mutation=schema.mutation_type,
        subscription=subscription,
        types=types,
        directives=schema.directives,
        description=schema.description,
        extensions=schema.extensions,
    )


def _live(field: GraphQLField) -> GraphQLField:
    return GraphQLField(
        field.type,
        args=field.args,
        description=(field.description or "").rstrip() + _LIVE,
        deprecation_reason=field.deprecation_reason,
        # strawberry's definition carries the cost directives the cost analysis reads.
        extensions=field.extensions,
        ast_node=field.ast_node,
    )


def _event_stream(schema: GraphQLSchema) -> GraphQLField:
    edge = schema.type_map.get(EVENT_EDGE_TYPE)
    if not isinstance(edge, GraphQLObjectType):
        raise ValueError(f"the event stream needs the {EVENT_EDGE_TYPE} type")
    names = GraphQLList(GraphQLNonNull(GraphQLString))
    return GraphQLField(
        GraphQLNonNull(edge),
        args={
            "after": GraphQLArgument(GraphQLString, description="The cursor of the last event received."),
            "types": GraphQLArgument(names, description="Only these event types, e.g. `invoice.paid`."),
            "entityTypes": GraphQLArgument(names, description="Only events about these entity types, e.g. `Invoice`."),
        },
        description=_STREAM,
    )
