"""The webhook commands' inputs, in domain terms (the schema maps GraphQL's onto them)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from app.delivery.secrets import SecretBox
from app.delivery.settings import WebhookSettings
from resolvers.writes.inputs import UNCHANGED


@dataclass(frozen=True)
class WebhookConfig:
    """What the commands need from the server's settings: where secrets are sealed, and
    which targets are acceptable."""

    settings: WebhookSettings

    @property
    def box(self) -> SecretBox | None:
        return SecretBox(self.settings.secret_keys) if self.settings.secret_keys else None


@dataclass(frozen=True)
class CreateEndpoint:
    url: str
    event_types: list[str]
    description: str | None = None
    timeout_seconds: int | None = None
    max_concurrency: int | None = None


@dataclass(frozen=True)
class UpdateEndpoint:
    id: int
    version: int | None = None
    url: Any = UNCHANGED
    event_types: Any = UNCHANGED
    description: Any = UNCHANGED
    timeout_seconds: Any = UNCHANGED
    max_concurrency: Any = UNCHANGED


@dataclass(frozen=True)
class EndpointAction:
    """Enable, disable, delete, ping: an endpoint (at a version, when given)."""

    id: int
    version: int | None = None


@dataclass(frozen=True)
class RotateSecret:
    id: int
    overlap_seconds: int | None = None  # None: the configured overlap


@dataclass(frozen=True)
class Redeliver:
    event_id: int
    endpoint_id: int


@dataclass(frozen=True)
class Replay:
    endpoint_id: int
    since: dt.datetime
