"""How email deliveries and their attempts are read."""

from resolvers.planner.catalog import Column, Entity, GlobalId, ToMany, ToOne, Wording, col

# The global ID of the entity the email is about (its type is in the row).
_SUBJECT_ID = Column("encode(convert_to({t}.entity_type || ':' || {t}.entity_id, 'UTF8'), 'base64')", "text")

EMAIL_DELIVERY = Entity(
    name="EmailDelivery",
    table="email_deliveries",
    fields={
        "id": GlobalId(),
        "kind": col("kind", "enum"),
        "recipient": col("recipient", "text"),
        "status": col("status", "enum"),
        "reason": col("reason", "text", nullable=True),
        "subject": col("subject", "text", nullable=True),
        "attempts": col("attempts", "int"),
        "nextAttemptAt": col("next_attempt_at", "datetime", nullable=True),
        "sentAt": col("sent_at", "datetime", nullable=True),
        "eventType": col("event_type", "text"),
        "entityType": col("entity_type", "text"),
        "entityId": _SUBJECT_ID,
        "event": ToOne("IntegrationEvent", local="event_id"),
        "attemptLog": ToMany("EmailAttempt", remote="delivery_id"),
        "createdAt": col("created_at", "datetime"),
        "updatedAt": col("updated_at", "datetime"),
    },
    sorts={"ID": (), "CREATED_AT": (col("created_at", "datetime"),)},
    default_sort=("CREATED_AT", "DESC"),
    filters={
        "kind": col("kind", "enum", description="The kind of email."),
        "status": col("status", "enum", description="Where the delivery stands."),
        "recipient": col("recipient", "text", description="The address it goes to."),
        "eventType": col("event_type", "text", description="The event that caused it, e.g. `invoice.issued`."),
        "createdAt": col("created_at", "datetime", description="When it was made from its event."),
    },
    wording=Wording("email deliveries"),
)

EMAIL_ATTEMPT = Entity(
    name="EmailAttempt",
    table="email_attempts",
    fields={
        "id": GlobalId(),
        "attemptNo": col("attempt_no", "int"),
        "attemptedAt": col("attempted_at", "datetime"),
        "outcome": col("outcome", "enum"),
        "smtpCode": col("smtp_code", "int", nullable=True),
        "smtpResponse": col("smtp_response", "text", nullable=True),
        "latencyMs": col("latency_ms", "int"),
        "delivery": ToOne("EmailDelivery", local="delivery_id"),
    },
    sorts={"ID": (), "ATTEMPTED_AT": (col("attempted_at", "datetime"),)},
    default_sort=("ATTEMPTED_AT", "ASC"),
    filters={
        "outcome": col("outcome", "enum", description="How the attempt ended."),
        "attemptedAt": col("attempted_at", "datetime", description="When it was made."),
    },
    wording=Wording("email attempts"),
)
