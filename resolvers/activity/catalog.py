"""How the audit trail and the integration events are read."""

from resolvers.planner.catalog import Column, Entity, GlobalId, Wording, col

# The global ID of the entity a record is about (its type is in the row).
_SUBJECT_ID = Column("encode(convert_to({t}.entity_type || ':' || {t}.entity_id, 'UTF8'), 'base64')", "text")

AUDIT_ENTRY = Entity(
    name="AuditEntry",
    table="audit_log",
    fields={
        "id": GlobalId(),
        "action": col("action", "text"),
        "actor": col("actor", "text"),
        "entityType": col("entity_type", "text"),
        "entityId": _SUBJECT_ID,
        "changes": col("changes", "json", compact=False),
        "requestId": col("request_id", "text", nullable=True),
        "at": col("at", "datetime"),
    },
    sorts={"ID": (), "AT": (col("at", "datetime"),)},
    default_sort=("AT", "DESC"),
    filters={
        "action": col("action", "text", description="The action, e.g. `order.placed`."),
        "actor": col("actor", "text", description="Who acted."),
        "entityType": col("entity_type", "text", description="The entity's type, e.g. `Order`."),
        "at": col("at", "datetime", description="When."),
    },
    wording=Wording("audit entries"),
)

# Events are read in commit order: ``position`` is handed out as each event's
# transaction commits (alembic 0004), whereas an id is taken at insert, so a
# consumer paging by id could step past an event that commits late with a
# smaller id. Only the writing transaction itself sees an event without one.
_POSITION = col("position", "bigint")
COMMITTED = "{t}.position IS NOT NULL"

INTEGRATION_EVENT = Entity(
    name="IntegrationEvent",
    table="outbox",
    fields={
        "id": GlobalId(),
        "type": col("event_type", "text"),
        "entityType": col("entity_type", "text"),
        "entityId": _SUBJECT_ID,
        "payload": col("payload", "json", compact=False),
        "occurredAt": col("occurred_at", "datetime"),
    },
    sorts={"POSITION": (_POSITION,)},
    default_sort=("POSITION", "ASC"),
    filters={
        "type": col("event_type", "text", description="The event type, e.g. `invoice.paid`."),
        "entityType": col("entity_type", "text", description="The entity's type."),
        "occurredAt": col("occurred_at", "datetime", description="When it happened."),
    },
    where=COMMITTED,
    wording=Wording(
        "integration events",
        sort_key="The order of events; there is one: the order their transactions committed in.",
        sort_fields="The order events are read in.",
    ),
)
