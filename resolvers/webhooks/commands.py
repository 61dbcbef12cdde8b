"""Webhook endpoint commands (role: ``COMMANDS["manage_webhooks"]`` in app/workflows.py, admins).

A secret is made here, sealed with the configured key before it is stored, and
handed back once in the payload (``Outcome.values``); no read shows it again.
Every command writes an audit row; a ping also announces its event, which the
worker delivers to this endpoint only.
"""

from __future__ import annotations

from typing import Any

from app.delivery import signing
from app.delivery.targets import TargetRefused, check_url, resolve
from app.errors import CommandError
from app.events import CATALOG
from app.events.webhooks import WEBHOOK_PING, WebhookPingPayload
from app.workflows import COMMANDS
from resolvers.planner.ids import encode_id
from resolvers.webhooks.inputs import (
    CreateEndpoint,
    EndpointAction,
    Redeliver,
    Replay,
    RotateSecret,
    UpdateEndpoint,
    WebhookConfig,
)
from resolvers.writes.checks import Checks, not_found
from resolvers.writes.inputs import UNCHANGED
from resolvers.writes.lifecycle import check_version, require_role
from resolvers.writes.runner import Outcome
from resolvers.writes.session import Row, WriteSession, changes

MAX_ENDPOINTS = 50  # per organization
MAX_EVENT_TYPES = 100
MAX_OVERLAP_SECONDS = 30 * 86_400
# Events an endpoint may ask for: the catalog, less the ping (sent to one endpoint on request).
SUBSCRIBABLE = frozenset(name for name in CATALOG if name != WEBHOOK_PING.name)

# API field → column, for the audit log.
COLUMNS = {
    "url": "url",
    "description": "description",
    "eventTypes": "event_types",
    "enabled": "enabled",
    "disabledReason": "disabled_reason",
    "timeoutSeconds": "timeout_seconds",
    "maxConcurrency": "max_concurrency",
}

# Re-queue a finished delivery (delivered, or failed for good) from scratch; an open
# one is left as it is: it will be delivered anyway.
_REQUEUE = """
ON CONFLICT (endpoint_id, event_id) DO UPDATE
SET status = 'pending', attempts = 0, next_attempt_at = now(), lease_until = NULL, claim = NULL,
    delivered_at = NULL, last_error = NULL, last_status_code = NULL
WHERE webhook_deliveries.status IN ('delivered', 'failed')
"""


def _manage(session: WriteSession) -> None:
    require_role(session, COMMANDS["manage_webhooks"], "manage webhook endpoints")


def _api(row: Row) -> dict[str, Any]:
    return {field: row[column] for field, column in COLUMNS.items()}


def _box(config: WebhookConfig) -> Any:
    box = config.box
    if box is None:
        raise CommandError(
            "NOT_CONFIGURED", "webhook secrets cannot be stored: the server has no BIZGRAPH_WEBHOOK_SECRET_KEYS"
        )
    return box


def _event_types(checks: Checks, value: list[str] | None) -> list[str]:
    if not value:
        checks.fail(("event_types",), "REQUIRED", "name at least one event type")
        return []
    if len(value) > MAX_EVENT_TYPES:
        checks.fail(("event_types",), "INVALID", f"at most {MAX_EVENT_TYPES} event types")
        return []
    wanted: list[str] = []
    for index, name in enumerate(value):
        name = name.strip()
        if name not in SUBSCRIBABLE:
            checks.fail(("event_types", index), "INVALID", f"{name!r} is not an event type of the catalog")
        elif name not in wanted:
            wanted.append(name)
    return sorted(wanted)


def _bounded(checks: Checks, path: str, value: int | None, low: int, high: int) -> int | None:
    if value is not None and not low <= value <= high:
        checks.fail((path,), "INVALID", f"{path.replace('_', ' ')} must be from {low} to {high}")
    return value


def _url(checks: Checks, value: str | None, config: WebhookConfig) -> str | None:
    text = checks.text(("url",), value, max_length=2000)
    if text is None:
        checks.fail(("url",), "REQUIRED", "url is required")
        return None
    try:
        check_url(text, allow_http=config.settings.allow_http)
    except TargetRefused as refused:
        checks.fail(("url",), "INVALID", str(refused))
    return text


async def _reachable(url: str, config: WebhookConfig) -> None:
    """The URL's host must resolve to acceptable addresses now (the worker checks again on every attempt)."""
    try:
        await resolve(check_url(url, allow_http=config.settings.allow_http), config.settings.allowed_networks)
    except TargetRefused as refused:
        raise CommandError("INVALID", str(refused), field=["url"]) from None


async def _lock(session: WriteSession, pk: int, version: int | None = None) -> Row:
    row = await session.row(
        "SELECT * FROM webhook_endpoints WHERE id = %(pk)s AND org_id = %(org)s FOR UPDATE", {"pk": pk}
    )
    if row is None:
        raise not_found(("id",), "WebhookEndpoint")
    check_version(row, version, "WebhookEndpoint")
    return row


async def create_endpoint(session: WriteSession, command: CreateEndpoint, config: WebhookConfig) -> Outcome:
    _manage(session)
    checks = Checks()
    url = _url(checks, command.url, config)
    event_types = _event_types(checks, command.event_types)
    description = checks.text(("description",), command.description, max_length=500)
    timeout = _bounded(checks, "timeout_seconds", command.timeout_seconds, 1, 60)
    concurrency = _bounded(checks, "max_concurrency", command.max_concurrency, 1, 100)
    checks.done()
    assert url is not None
    box = _box(config)
    await _reachable(url, config)
    count = await session.value("SELECT count(*) FROM webhook_endpoints WHERE org_id = %(org)s")
    if count >= MAX_ENDPOINTS:
        raise CommandError("INVALID", f"an organization has at most {MAX_ENDPOINTS} webhook endpoints")
    secret = signing.new_secret()
    row = await session.row(
        "INSERT INTO webhook_endpoints (org_id, url, description, event_types, secret_sealed, timeout_seconds,"
        " max_concurrency, start_after_position)"
        " VALUES (%(org)s, %(url)s, %(description)s, %(event_types)s, %(sealed)s, %(timeout)s, %(concurrency)s,"
        " (SELECT coalesce(max(position), 0) FROM outbox WHERE org_id = %(org)s))"
        " RETURNING *",
        {
            "url": url,
            "description": description,
            "event_types": event_types,
            "sealed": box.seal(secret),
            "timeout": timeout or config.settings.timeout_seconds,
            "concurrency": concurrency or config.settings.concurrency_per_endpoint,
        },
    )
    assert row is not None
    await session.record("webhook_endpoint.created", "WebhookEndpoint", row["id"], changes(None, _api(row)))
    return Outcome("WebhookEndpoint", row["id"], values={"secret": secret})


async def update_endpoint(session: WriteSession, command: UpdateEndpoint, config: WebhookConfig) -> Outcome:
    _manage(session)
    checks = Checks()
    values: dict[str, Any] = {}
    if command.url is not UNCHANGED:
        values["url"] = _url(checks, command.url, config)
    if command.event_types is not UNCHANGED:
        values["event_types"] = _event_types(checks, command.event_types)
    if command.description is not UNCHANGED:
        values["description"] = checks.text(("description",), command.description, max_length=500)
    for name, low, high in (("timeout_seconds", 1, 60), ("max_concurrency", 1, 100)):
        given = getattr(command, name)
        if given is not UNCHANGED:
            if given is None:
                checks.fail((name,), "REQUIRED", f"{name.replace('_', ' ')} must not be null")
            values[name] = _bounded(checks, name, given, low, high)
    checks.done()
    before = await _lock(session, command.id, command.version)
    if "url" in values and values["url"] != before["url"]:
        await _reachable(values["url"], config)
    after = await session.update("webhook_endpoints", command.id, values)
    await session.record("webhook_endpoint.updated", "WebhookEndpoint", command.id, changes(_api(before), _api(after)))
    return Outcome("WebhookEndpoint", command.id)


async def set_enabled(session: WriteSession, command: EndpointAction, enabled: bool) -> Outcome:
    _manage(session)
    before = await _lock(session, command.id, command.version)
    if before["enabled"] == enabled:
        state = "enabled" if enabled else "disabled"
        raise CommandError("INVALID_TRANSITION", f"the webhook endpoint is already {state}")
    values: dict[str, Any] = {"enabled": enabled, "disabled_reason": None if enabled else "manual"}
    if enabled:
        # A fresh start: its failures before the pause do not count towards disabling it again.
        values.update(disabled_at=None, failing_since=None)
    after = await session.update("webhook_endpoints", command.id, values, stamps=() if enabled else ("disabled_at",))
    action = "webhook_endpoint.enabled" if enabled else "webhook_endpoint.disabled_by_admin"
    await session.record(action, "WebhookEndpoint", command.id, changes(_api(before), _api(after)))
    return Outcome("WebhookEndpoint", command.id)


async def delete_endpoint(session: WriteSession, command: EndpointAction) -> Outcome:
    _manage(session)
    before = await _lock(session, command.id, command.version)
    # Its deliveries and attempts go with it (ON DELETE CASCADE).
    await session.execute("DELETE FROM webhook_endpoints WHERE id = %(pk)s", {"pk": command.id})
    await session.record(
        "webhook_endpoint.deleted", "WebhookEndpoint", command.id, changes(_api(before), dict.fromkeys(COLUMNS))
    )
    return Outcome(values={"deletedId": encode_id("WebhookEndpoint", command.id)})


async def rotate_secret(session: WriteSession, command: RotateSecret, config: WebhookConfig) -> Outcome:
    _manage(session)
    overlap = command.overlap_seconds
    if overlap is None:
        overlap = config.settings.rotation_overlap_seconds
    elif not 0 <= overlap <= MAX_OVERLAP_SECONDS:
        raise CommandError(
            "INVALID", f"overlap seconds must be from 0 to {MAX_OVERLAP_SECONDS}", field=["overlap_seconds"]
        )
    box = _box(config)
    before = await _lock(session, command.id)
    secret = signing.new_secret()
    await session.execute(
        "UPDATE webhook_endpoints SET secret_sealed = %(sealed)s, previous_secret_sealed = %(previous)s,"
        " previous_secret_expires_at = now() + make_interval(secs => %(overlap)s), secret_rotated_at = now(),"
        " version = version + 1, updated_at = now() WHERE id = %(pk)s",
        {"pk": command.id, "sealed": box.seal(secret), "previous": before["secret_sealed"], "overlap": overlap},
    )
    await session.record(
        "webhook_endpoint.secret_rotated", "WebhookEndpoint", command.id, {"overlapSeconds": {"after": overlap}}
    )
    return Outcome("WebhookEndpoint", command.id, values={"secret": secret})


async def ping(session: WriteSession, command: EndpointAction) -> Outcome:
    _manage(session)
    row = await _lock(session, command.id, command.version)
    if not row["enabled"]:
        raise CommandError("INVALID_TRANSITION", "the webhook endpoint is disabled: enable it first")
    event = WEBHOOK_PING.announce(WebhookPingPayload(url=row["url"]))
    await session.record(WEBHOOK_PING.name, "WebhookEndpoint", command.id, {}, [event])
    return Outcome("WebhookEndpoint", command.id)


async def redeliver(session: WriteSession, command: Redeliver) -> Outcome:
    """Send one event to one endpoint again (or for the first time), from a fresh schedule."""
    _manage(session)
    await _lock(session, command.endpoint_id)
    row = await session.row(
        "INSERT INTO webhook_deliveries (org_id, endpoint_id, event_id, position, entity_type, entity_id)"
        " SELECT %(org)s, %(endpoint)s, o.id, o.position, o.entity_type, o.entity_id FROM outbox o"
        " WHERE o.id = %(event)s AND o.org_id = %(org)s AND o.position IS NOT NULL" + _REQUEUE + " RETURNING id",
        {"endpoint": command.endpoint_id, "event": command.event_id},
    )
    if row is None:
        # Either no such event, or its delivery is still open (nothing to do but show it).
        row = await session.row(
            "SELECT d.id FROM webhook_deliveries d WHERE d.endpoint_id = %(endpoint)s AND d.event_id = %(event)s",
            {"endpoint": command.endpoint_id, "event": command.event_id},
        )
        if row is None:
            raise not_found(("event_id",), "IntegrationEvent")
    await session.record(
        "webhook_delivery.redelivered", "WebhookEndpoint", command.endpoint_id, {"event": {"after": command.event_id}}
    )
    return Outcome("WebhookDelivery", row["id"])


async def replay(session: WriteSession, command: Replay) -> Outcome:
    """Send an endpoint every event of its types committed since a moment, again."""
    _manage(session)
    if command.since.tzinfo is None:
        raise CommandError("INVALID", "since needs a time zone offset", field=["since"])
    await _lock(session, command.endpoint_id)
    queued = await session.value(
        "WITH queued AS ("
        "INSERT INTO webhook_deliveries (org_id, endpoint_id, event_id, position, entity_type, entity_id)"
        " SELECT %(org)s, e.id, o.id, o.position, o.entity_type, o.entity_id"
        " FROM webhook_endpoints e JOIN outbox o ON o.org_id = %(org)s AND o.event_type = ANY (e.event_types)"
        " WHERE e.id = %(endpoint)s AND o.position IS NOT NULL AND o.occurred_at >= %(since)s"
        " ORDER BY o.position" + _REQUEUE + " RETURNING 1) SELECT count(*) FROM queued",
        {"endpoint": command.endpoint_id, "since": command.since},
    )
    await session.record(
        "webhook_endpoint.replayed",
        "WebhookEndpoint",
        command.endpoint_id,
        {"since": {"after": command.since.isoformat()}, "queued": {"after": queued}},
    )
    return Outcome("WebhookEndpoint", command.endpoint_id, values={"queued": queued})
