"""How webhook endpoints, deliveries and attempts are read.

An endpoint's delivery figures are columns of its own row (correlated counts over
indexed deliveries and attempts), so a list of endpoints with its figures is still
one statement. Secrets are never read: no field names their columns.
"""

from resolvers.planner.catalog import Column, Entity, ForeignId, GlobalId, ToMany, ToOne, Wording, col

_OPEN = "q.endpoint_id = {t}.id AND q.status IN ('pending', 'delivering')"

WEBHOOK_ENDPOINT = Entity(
    name="WebhookEndpoint",
    table="webhook_endpoints",
    fields={
        "id": GlobalId(),
        "url": col("url", "text"),
        "description": col("description", "text", nullable=True),
        "eventTypes": Column("to_json({t}.event_types)", "json"),
        "enabled": col("enabled", "bool"),
        "disabledReason": col("disabled_reason", "enum", nullable=True),
        "disabledAt": col("disabled_at", "datetime", nullable=True),
        "timeoutSeconds": col("timeout_seconds", "int"),
        "maxConcurrency": col("max_concurrency", "int"),
        "secretRotatedAt": col("secret_rotated_at", "datetime", nullable=True),
        "previousSecretExpiresAt": Column(
            "CASE WHEN {t}.previous_secret_expires_at > now() THEN {t}.previous_secret_expires_at END",
            "datetime",
            nullable=True,
        ),
        "failingSince": col("failing_since", "datetime", nullable=True),
        "lastSuccessAt": Column(
            "(SELECT max(a.started_at) FROM webhook_attempts a WHERE a.endpoint_id = {t}.id AND a.succeeded)",
            "datetime",
            nullable=True,
        ),
        "queueDepth": Column(f"(SELECT count(*)::int FROM webhook_deliveries q WHERE {_OPEN})", "int"),
        "oldestUndeliveredAt": Column(
            f"(SELECT min(q.created_at) FROM webhook_deliveries q WHERE {_OPEN})", "datetime", nullable=True
        ),
        "oldestUndeliveredAgeSeconds": Column(
            "(SELECT floor(extract(epoch FROM now() - min(q.created_at)))::int"
            f" FROM webhook_deliveries q WHERE {_OPEN})",
            "int",
            nullable=True,
        ),
        "attemptCount": Column("(SELECT count(*)::int FROM webhook_attempts a WHERE a.endpoint_id = {t}.id)", "int"),
        "failedAttemptCount": Column(
            "(SELECT count(*)::int FROM webhook_attempts a WHERE a.endpoint_id = {t}.id AND NOT a.succeeded)", "int"
        ),
        "failedDeliveryCount": Column(
            "(SELECT count(*)::int FROM webhook_deliveries q WHERE q.endpoint_id = {t}.id AND q.status = 'failed')",
            "int",
        ),
        "deliveries": ToMany("WebhookDelivery", remote="endpoint_id"),
        "attempts": ToMany("WebhookAttempt", remote="endpoint_id"),
        "history": ToMany("AuditEntry", remote="entity_id", where="{c}.entity_type = 'WebhookEndpoint'"),
        "version": col("version", "bigint"),
        "createdAt": col("created_at", "datetime"),
        "updatedAt": col("updated_at", "datetime"),
    },
    sorts={"ID": (), "CREATED_AT": (col("created_at", "datetime"),), "URL": (col("url", "text"),)},
    filters={
        "id": ForeignId("WebhookEndpoint", "id", description="The endpoint's ID."),
        "url": col("url", "text", description="The URL."),
        "enabled": col("enabled", "bool", description="Whether it receives events."),
        "createdAt": col("created_at", "datetime", description="When it was registered."),
    },
    wording=Wording("webhook endpoints"),
)

WEBHOOK_DELIVERY = Entity(
    name="WebhookDelivery",
    table="webhook_deliveries",
    fields={
        "id": GlobalId(),
        "status": col("status", "enum"),
        "attempts": col("attempts", "int"),
        "nextAttemptAt": Column(
            "CASE WHEN {t}.status IN ('pending', 'delivering') THEN {t}.next_attempt_at END", "datetime", nullable=True
        ),
        "lastAttemptAt": col("last_attempt_at", "datetime", nullable=True),
        "lastStatusCode": col("last_status_code", "int", nullable=True),
        "lastError": col("last_error", "text", nullable=True),
        "deliveredAt": col("delivered_at", "datetime", nullable=True),
        "createdAt": col("created_at", "datetime"),
        "endpoint": ToOne("WebhookEndpoint", local="endpoint_id"),
        "event": ToOne("IntegrationEvent", local="event_id"),
        "attemptLog": ToMany("WebhookAttempt", remote="delivery_id"),
    },
    sorts={"ID": (), "CREATED_AT": (col("created_at", "datetime"),)},
    default_sort=("CREATED_AT", "DESC"),
    filters={
        "status": col("status", "enum", description="Where the delivery stands."),
        "endpoint": ForeignId("WebhookEndpoint", "endpoint_id", description="The endpoint's ID."),
        "createdAt": col("created_at", "datetime", description="When the event was queued for the endpoint."),
    },
    wording=Wording("webhook deliveries"),
)

WEBHOOK_ATTEMPT = Entity(
    name="WebhookAttempt",
    table="webhook_attempts",
    fields={
        "id": GlobalId(),
        "startedAt": col("started_at", "datetime"),
        "latencyMs": col("latency_ms", "int"),
        "statusCode": col("status_code", "int", nullable=True),
        "succeeded": col("succeeded", "bool"),
        "error": col("error", "text", nullable=True),
        "responseBody": col("response_body", "text", nullable=True),
        "delivery": ToOne("WebhookDelivery", local="delivery_id"),
        "endpoint": ToOne("WebhookEndpoint", local="endpoint_id"),
    },
    sorts={"ID": (), "STARTED_AT": (col("started_at", "datetime"),)},
    default_sort=("STARTED_AT", "DESC"),
    filters={
        "endpoint": ForeignId("WebhookEndpoint", "endpoint_id", description="The endpoint's ID."),
        "delivery": ForeignId("WebhookDelivery", "delivery_id", description="The delivery's ID."),
        "succeeded": col("succeeded", "bool", description="Whether the receiver answered 2xx."),
        "startedAt": col("started_at", "datetime", description="When the attempt started."),
    },
    wording=Wording("webhook attempts"),
)
