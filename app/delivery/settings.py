"""The webhook settings, read from the environment with the rest (``app.config``).

README "Webhooks" says what each one is for."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, replace

from app.errors import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# The key ``serve --demo`` and the test suite encrypt secrets with: public, so only
# for development data (README "Webhooks" says why secrets are encrypted, not hashed).
DEMO_KEY_SEED = b"bizgraph demo webhook secrets: not for production"


def demo_key() -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(DEMO_KEY_SEED).digest()).decode()


@dataclass(frozen=True)
class WebhookSettings:
    # Fernet keys: the first encrypts new secrets, every one decrypts (so keys can rotate).
    secret_keys: tuple[str, ...] = ()
    # Networks a target may resolve into although they are private, loopback or link-local.
    allowed_networks: tuple[Network, ...] = ()
    # Plain http targets: development only.
    allow_http: bool = False
    timeout_seconds: int = 10
    concurrency_per_endpoint: int = 4
    worker_concurrency: int = 32
    # Bytes of a response read at most (the attempt log keeps the first 1 KB of them).
    max_response_bytes: int = 65_536
    rotation_overlap_seconds: int = 86_400
    # A claim outlives the request's timeout by this much before another worker may take it over.
    lease_grace_seconds: int = 30
    poll_ms: int = 1_000
    # bizgraph prune: delivered deliveries and their attempts, outbox events, idempotency keys.
    delivery_retention_days: int = 30
    outbox_retention_days: int = 90
    idempotency_retention_days: int = 7

    def for_development(self) -> WebhookSettings:
        """``serve --demo``: the demo key when none is configured, and plain http allowed."""
        return replace(self, secret_keys=self.secret_keys or (demo_key(),), allow_http=True)

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, demo: bool) -> WebhookSettings:
        keys = tuple(part.strip() for part in env.get("BIZGRAPH_WEBHOOK_SECRET_KEYS", "").split(",") if part.strip())
        for key in keys:
            _check_key(key)
        if not keys and demo:
            keys = (demo_key(),)
        return cls(
            secret_keys=keys,
            allowed_networks=parse_networks(env.get("BIZGRAPH_WEBHOOK_ALLOWED_NETWORKS", "")),
            allow_http=_flag(env, "BIZGRAPH_WEBHOOK_ALLOW_HTTP", demo),
            timeout_seconds=_number(env, "BIZGRAPH_WEBHOOK_TIMEOUT_SECONDS", 10, 1, 60),
            concurrency_per_endpoint=_number(env, "BIZGRAPH_WEBHOOK_CONCURRENCY", 4, 1, 100),
            worker_concurrency=_number(env, "BIZGRAPH_WEBHOOK_WORKER_CONCURRENCY", 32, 1, 1000),
            max_response_bytes=_number(env, "BIZGRAPH_WEBHOOK_MAX_RESPONSE_BYTES", 65_536, 1024, 10_485_760),
            rotation_overlap_seconds=_number(env, "BIZGRAPH_WEBHOOK_ROTATION_OVERLAP_SECONDS", 86_400, 0, 2_592_000),
            lease_grace_seconds=_number(env, "BIZGRAPH_WEBHOOK_LEASE_GRACE_SECONDS", 30, 1, 3600),
            poll_ms=_number(env, "BIZGRAPH_WEBHOOK_POLL_MS", 1_000, 10, 60_000),
            delivery_retention_days=_number(env, "BIZGRAPH_DELIVERY_RETENTION_DAYS", 30, 1, 3650),
            outbox_retention_days=_number(env, "BIZGRAPH_OUTBOX_RETENTION_DAYS", 90, 1, 3650),
            idempotency_retention_days=_number(env, "BIZGRAPH_IDEMPOTENCY_RETENTION_DAYS", 7, 1, 3650),
        )


def parse_networks(raw: str, name: str = "BIZGRAPH_WEBHOOK_ALLOWED_NETWORKS") -> tuple[Network, ...]:
    networks: list[Network] = []
    for part in raw.split(","):
        text = part.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ConfigError(f"{name}: {text!r} is not an address or network like 127.0.0.1/32") from None
    return tuple(networks)


def _check_key(key: str) -> None:
    try:
        raw = base64.urlsafe_b64decode(key.encode())
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ConfigError(
            "BIZGRAPH_WEBHOOK_SECRET_KEYS: each key is 32 url-safe base64 bytes"
            ' (make one: python -c "import cryptography.fernet as f; print(f.Fernet.generate_key().decode())")'
        )


def _number(env: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")
