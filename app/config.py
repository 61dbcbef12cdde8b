"""Configuration, read once from the environment, typed, failing fast.

Every setting has one environment variable. A bad value raises ``ConfigError``
with one line that names the variable, so ``bizgraph`` can print it and exit
instead of showing a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from app.auth.issuers import DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, TrustedIssuer, parse_trusted_issuers
from app.delivery.settings import WebhookSettings
from app.errors import ConfigError

DEFAULT_ISSUER = "http://127.0.0.1:8000"
# Where an OTLP/HTTP collector listens by default (the standard port, on this machine).
DEFAULT_OTLP_TRACES_ENDPOINT = "http://localhost:4318/v1/traces"


def _default_data_dir() -> Path:
    """Per user, root included: ``$XDG_DATA_HOME/bizgraph`` (``~/.local/share/bizgraph``).

    A demo is one person's sandbox; a machine-wide path (``/var/lib/bizgraph``) belongs to a
    packaged service, would mix a root demo's data with it, and is what a later run as another
    user cannot find. An installation that wants it sets ``BIZGRAPH_DATA_DIR=/var/lib/bizgraph``.
    (As root, the embedded server's parents are opened for traversal only: app/embedded.py.)"""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "bizgraph"


@dataclass(frozen=True)
class Settings:
    """Everything bizgraph reads from its environment."""

    database_url: URL | None = None
    # Where the change feed LISTENs (None: DATABASE_URL). LISTEN holds a session, so
    # this must reach PostgreSQL directly, never through a transaction-mode pooler.
    listen_database_url: URL | None = None
    # A transaction-mode pooler (PgBouncer) between bizgraph and PostgreSQL: connections may
    # change server session at every transaction, so nothing may live in a session (README
    # "Behind PgBouncer"): no startup options, no server-side prepared statements.
    transaction_pooler: bool = False
    # Statements that come back are prepared on the server (resolvers/wire.py; psycopg's own
    # after a few runs, for the engine's statements). False: never.
    prepared_statements: bool = True
    # Read replicas (streaming standbys of DATABASE_URL) for queries and live-query re-runs,
    # skipped while they lag more than ``replica_max_lag_ms`` (README "Read replicas").
    replica_urls: tuple[URL, ...] = ()
    replica_max_lag_ms: int = 1_000
    replica_check_ms: int = 200
    demo: bool = False
    default_page_size: int = 50
    max_page_size: int = 100
    max_aggregate_groups: int = 1000
    # Root fields one operation may select (each runs a statement or a command of its own).
    max_root_fields: int = 50
    statement_timeout_ms: int = 15_000
    pool_size: int = 10
    # The role the server's connections assume, so row-level security binds them;
    # empty when DATABASE_URL already logs in as a restricted role.
    db_role: str = "bizgraph_app"
    data_dir: Path = field(default_factory=_default_data_dir)
    log_level: str = "INFO"
    graphiql: bool = True
    # Answer fully planned queries straight from PostgreSQL's JSON (a kill switch).
    fast_path: bool = True
    # A JSON POST of a query or a mutation skips the general HTTP machinery (app/http/lean_queries.py).
    lean_queries: bool = True
    # Plans of repeated queries the lean path keeps, bound anew per request (0: none kept;
    # schema/plan_templates.py).
    plan_cache_entries: int = 1024
    # Roles allowed to introspect the schema outside demo mode.
    introspection_roles: frozenset[str] = frozenset({"admin", "analyst"})
    # A principal whose roles are all in this set may only run stored operations.
    persisted_only_roles: frozenset[str] = frozenset()
    # Access tokens: who issues them, for whom, how long they live, what signs them.
    issuer: str = DEFAULT_ISSUER
    audience: str = "bizgraph"
    access_token_ttl_seconds: int = 900
    token_leeway_seconds: int = 30
    signing_keys: tuple[Path, ...] = ()
    trusted_issuers: tuple[TrustedIssuer, ...] = ()
    # Limits checked before any work (README "Limits" says why each default).
    max_request_bytes: int = 1_048_576
    max_document_bytes: int = 65_536
    max_tokens: int = 2_000
    max_depth: int = 15
    max_aliases: int = 50
    max_directives: int = 50
    max_variables_bytes: int = 262_144
    max_list_length: int = 500
    # Parsed documents are kept while the sum of their texts' lengths fits.
    document_cache_bytes: int = 262_144
    # No accepted token may live longer than this (exp - iat), whoever issued it.
    max_token_lifetime_seconds: int = DEFAULT_MAX_TOKEN_LIFETIME_SECONDS
    # A user token's user is looked up again (exists, enabled, still has the roles)
    # at most this long after the last look; off only for suites that mint tokens
    # for made-up users.
    token_user_cache_seconds: int = 30
    check_token_users: bool = True
    # /oauth/token: failed attempts per client id, username and address before the
    # answers slow down, before a lockout, how long one lasts, and how long a failure counts.
    login_failures_before_delay: int = 3
    login_failures_before_lockout: int = 10
    login_lockout_seconds: int = 900
    login_failure_window_seconds: int = 900
    # Cost analysis and rate limiting (README "Cost and rate limiting"): the highest static
    # cost an operation may have, and each principal's budget in cost units a minute (0: off);
    # with a Redis URL every process shares the budgets.
    max_cost: int = 250_000
    rate_limit_cost_per_minute: int = 0
    redis_url: str | None = None
    # Live data (README "Subscriptions"). Origins a browser may open a socket or a stream from
    # (empty: the server's own origin only; "*": any); how long a new socket has to send
    # connection_init; how often the server pings; how long a socket may stay silent before it is
    # reaped; and the caps: sockets and streams per process, subscriptions per connection and per
    # principal, frames waiting to be written to one socket.
    allowed_origins: frozenset[str] = frozenset()
    ws_init_timeout_ms: int = 5_000
    ws_ping_interval_ms: int = 10_000
    ws_silence_timeout_ms: int = 30_000
    max_live_connections: int = 10_000
    max_subscriptions_per_connection: int = 100
    max_subscriptions_per_principal: int = 500
    ws_send_queue_frames: int = 64
    stream_heartbeat_ms: int = 5_000
    # Live queries: a group re-runs at most once per interval, however many changes come.
    live_interval_ms: int = 100
    # Events an event stream holds for a slow client before it is ended (STREAM_OVERFLOW).
    stream_queue: int = 1000
    # Customer emails (README "Customer emails"): the SMTP server the dispatcher sends
    # through, how it secures the connection (none, starttls, tls), its credentials, and
    # the sender address of organizations that set none of their own.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_tls: str = "none"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_timeout_seconds: int = 30
    mail_from: str = "bizgraph@localhost"
    # Webhook delivery (README "Webhooks"): secrets' keys, safe targets, timeouts, retention.
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    # Observability (README "Metrics and logs"). /metrics answers only a bearer of this token
    # (None: the endpoint does not exist, 404), so it is never open by accident.
    metrics_token: str | None = None
    # Distinct operation names a metric label may take before the rest count as "other":
    # names come from clients, and a label must never grow without bound.
    metrics_max_operation_names: int = 200
    # Request logs: "json", "text", or "auto" (text when stderr is a terminal, else JSON).
    log_format: str = "auto"
    # An operation slower than this is logged with the SQL it ran (0: never).
    slow_query_ms: int = 1_000
    # Request logs carry the operation's variables only when this debug setting is on.
    log_variables: bool = False
    # Traces (README "Traces"), off by default. When on, this share of the requests that come
    # without a sampled caller is traced (one that comes with a sampled ``traceparent`` always
    # is) and its spans are sent over OTLP/HTTP to the endpoint, as the service name says.
    tracing: bool = False
    tracing_sample_ratio: float = 1.0
    tracing_endpoint: str = DEFAULT_OTLP_TRACES_ENDPOINT
    tracing_service_name: str = "bizgraph"
    # Graceful drain on SIGTERM (README "Draining"): for this long /readyz answers 503 while
    # everything else is still served, so a load balancer polling it stops sending traffic
    # before new connections are refused; then in-flight requests, mutations and socket
    # operations get up to ``drain_seconds`` to finish before what is left is cut off.
    drain_notice_seconds: int = 0
    drain_seconds: int = 20

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        raw_url = env.get("DATABASE_URL", "").strip()
        raw_listen_url = env.get("BIZGRAPH_LISTEN_DATABASE_URL", "").strip()
        issuer = _issuer(env, "BIZGRAPH_ISSUER")
        audience = env.get("BIZGRAPH_AUDIENCE", "").strip() or "bizgraph"
        raw_trusted = env.get("BIZGRAPH_TRUSTED_ISSUERS", "").strip()
        demo = _bool(env, "BIZGRAPH_DEMO", False)
        settings = cls(
            database_url=parse_database_url(raw_url, "DATABASE_URL") if raw_url else None,
            listen_database_url=(
                parse_database_url(raw_listen_url, "BIZGRAPH_LISTEN_DATABASE_URL") if raw_listen_url else None
            ),
            transaction_pooler=_pooler(env, "BIZGRAPH_POOLER"),
            prepared_statements=_bool(env, "BIZGRAPH_PREPARED_STATEMENTS", not _pooler(env, "BIZGRAPH_POOLER")),
            replica_urls=tuple(
                parse_database_url(part.strip(), "BIZGRAPH_REPLICA_URLS")
                for part in env.get("BIZGRAPH_REPLICA_URLS", "").split(",")
                if part.strip()
            ),
            replica_max_lag_ms=_int(env, "BIZGRAPH_REPLICA_MAX_LAG_MS", 1_000, minimum=0),
            replica_check_ms=_int(env, "BIZGRAPH_REPLICA_CHECK_MS", 200, minimum=10),
            demo=demo,
            default_page_size=_int(env, "BIZGRAPH_DEFAULT_PAGE_SIZE", 50, minimum=1),
            max_page_size=_int(env, "BIZGRAPH_MAX_PAGE_SIZE", 100, minimum=1),
            max_aggregate_groups=_int(env, "BIZGRAPH_MAX_AGGREGATE_GROUPS", 1000, minimum=1),
            max_root_fields=_int(env, "BIZGRAPH_MAX_ROOT_FIELDS", 50, minimum=1),
            statement_timeout_ms=_int(env, "BIZGRAPH_STATEMENT_TIMEOUT_MS", 15_000, minimum=0),
            pool_size=_int(env, "BIZGRAPH_POOL_SIZE", 10, minimum=1),
            db_role=_role_name(env, "BIZGRAPH_DB_ROLE", "bizgraph_app"),
            data_dir=Path(env["BIZGRAPH_DATA_DIR"]) if env.get("BIZGRAPH_DATA_DIR") else _default_data_dir(),
            log_level=env.get("BIZGRAPH_LOG_LEVEL", "INFO").upper(),
            graphiql=_bool(env, "BIZGRAPH_GRAPHIQL", True),
            fast_path=_bool(env, "BIZGRAPH_FAST_PATH", True),
            lean_queries=_bool(env, "BIZGRAPH_LEAN_QUERIES", True),
            plan_cache_entries=_int(env, "BIZGRAPH_PLAN_CACHE_ENTRIES", 1024, minimum=0),
            introspection_roles=_roles(env, "BIZGRAPH_INTROSPECTION_ROLES", frozenset({"admin", "analyst"})),
            persisted_only_roles=_roles(env, "BIZGRAPH_PERSISTED_ONLY_ROLES", frozenset()),
            issuer=issuer,
            audience=audience,
            access_token_ttl_seconds=_int(env, "BIZGRAPH_ACCESS_TOKEN_TTL_SECONDS", 900, minimum=60),
            token_leeway_seconds=_int(env, "BIZGRAPH_TOKEN_LEEWAY_SECONDS", 30, minimum=0),
            signing_keys=_paths(env, "BIZGRAPH_SIGNING_KEYS"),
            trusted_issuers=(
                parse_trusted_issuers(raw_trusted, default_audience=audience, own_issuer=issuer) if raw_trusted else ()
            ),
            max_request_bytes=_int(env, "BIZGRAPH_MAX_REQUEST_BYTES", 1_048_576, minimum=1024),
            max_document_bytes=_int(env, "BIZGRAPH_MAX_DOCUMENT_BYTES", 65_536, minimum=64),
            max_tokens=_int(env, "BIZGRAPH_MAX_TOKENS", 2_000, minimum=10),
            max_depth=_int(env, "BIZGRAPH_MAX_DEPTH", 15, minimum=1),
            max_aliases=_int(env, "BIZGRAPH_MAX_ALIASES", 50, minimum=0),
            max_directives=_int(env, "BIZGRAPH_MAX_DIRECTIVES", 50, minimum=0),
            max_variables_bytes=_int(env, "BIZGRAPH_MAX_VARIABLES_BYTES", 262_144, minimum=2),
            max_list_length=_int(env, "BIZGRAPH_MAX_LIST_LENGTH", 500, minimum=1),
            document_cache_bytes=_int(env, "BIZGRAPH_DOCUMENT_CACHE_BYTES", 262_144, minimum=0),
            max_token_lifetime_seconds=_int(
                env, "BIZGRAPH_MAX_TOKEN_LIFETIME_SECONDS", DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, minimum=60
            ),
            token_user_cache_seconds=_int(env, "BIZGRAPH_TOKEN_USER_CACHE_SECONDS", 30, minimum=0),
            check_token_users=_bool(env, "BIZGRAPH_CHECK_TOKEN_USERS", True),
            login_failures_before_delay=_int(env, "BIZGRAPH_LOGIN_FAILURES_BEFORE_DELAY", 3, minimum=1),
            login_failures_before_lockout=_int(env, "BIZGRAPH_LOGIN_FAILURES_BEFORE_LOCKOUT", 10, minimum=1),
            login_lockout_seconds=_int(env, "BIZGRAPH_LOGIN_LOCKOUT_SECONDS", 900, minimum=1),
            login_failure_window_seconds=_int(env, "BIZGRAPH_LOGIN_FAILURE_WINDOW_SECONDS", 900, minimum=1),
            max_cost=_int(env, "BIZGRAPH_MAX_COST", 250_000, minimum=1),
            rate_limit_cost_per_minute=_int(env, "BIZGRAPH_RATE_LIMIT_COST_PER_MINUTE", 0, minimum=0),
            redis_url=_redis_url(env, "BIZGRAPH_REDIS_URL"),
            allowed_origins=_origins(env, "BIZGRAPH_ALLOWED_ORIGINS"),
            ws_init_timeout_ms=_int(env, "BIZGRAPH_WS_INIT_TIMEOUT_MS", 5_000, minimum=1),
            ws_ping_interval_ms=_int(env, "BIZGRAPH_WS_PING_INTERVAL_MS", 10_000, minimum=1),
            ws_silence_timeout_ms=_int(env, "BIZGRAPH_WS_SILENCE_TIMEOUT_MS", 30_000, minimum=1),
            max_live_connections=_int(env, "BIZGRAPH_MAX_LIVE_CONNECTIONS", 10_000, minimum=1),
            max_subscriptions_per_connection=_int(env, "BIZGRAPH_MAX_SUBSCRIPTIONS_PER_CONNECTION", 100, minimum=1),
            max_subscriptions_per_principal=_int(env, "BIZGRAPH_MAX_SUBSCRIPTIONS_PER_PRINCIPAL", 500, minimum=1),
            ws_send_queue_frames=_int(env, "BIZGRAPH_WS_SEND_QUEUE_FRAMES", 64, minimum=1),
            stream_heartbeat_ms=_int(env, "BIZGRAPH_STREAM_HEARTBEAT_MS", 5_000, minimum=1),
            live_interval_ms=_int(env, "BIZGRAPH_LIVE_INTERVAL_MS", 100, minimum=0),
            stream_queue=_int(env, "BIZGRAPH_STREAM_QUEUE", 1000, minimum=10),
            smtp_host=env.get("BIZGRAPH_SMTP_HOST", "").strip() or "127.0.0.1",
            smtp_port=_int(env, "BIZGRAPH_SMTP_PORT", 25, minimum=1),
            smtp_tls=_choice(env, "BIZGRAPH_SMTP_TLS", ("none", "starttls", "tls"), "none"),
            smtp_username=env.get("BIZGRAPH_SMTP_USERNAME", "").strip() or None,
            smtp_password=env.get("BIZGRAPH_SMTP_PASSWORD") or None,
            smtp_timeout_seconds=_int(env, "BIZGRAPH_SMTP_TIMEOUT_SECONDS", 30, minimum=1),
            mail_from=env.get("BIZGRAPH_MAIL_FROM", "").strip() or "bizgraph@localhost",
            webhooks=WebhookSettings.from_env(env, demo=demo),
            metrics_token=_metrics_token(env),
            metrics_max_operation_names=_int(env, "BIZGRAPH_METRICS_MAX_OPERATION_NAMES", 200, minimum=1),
            log_format=_log_format(env),
            slow_query_ms=_int(env, "BIZGRAPH_SLOW_QUERY_MS", 1_000, minimum=0),
            log_variables=_bool(env, "BIZGRAPH_LOG_VARIABLES", False),
            tracing=_bool(env, "BIZGRAPH_TRACING", False),
            tracing_sample_ratio=_sample_ratio(env),
            tracing_endpoint=_otlp_traces_endpoint(env),
            tracing_service_name=env.get("OTEL_SERVICE_NAME", "").strip() or "bizgraph",
            drain_notice_seconds=_int(env, "BIZGRAPH_DRAIN_NOTICE_SECONDS", 0, minimum=0),
            drain_seconds=_int(env, "BIZGRAPH_DRAIN_SECONDS", 20, minimum=0),
        )
        if settings.ws_ping_interval_ms >= settings.ws_silence_timeout_ms:
            # A live client answers a ping; it must get one before it counts as silent.
            raise ConfigError(
                "BIZGRAPH_WS_PING_INTERVAL_MS must be less than BIZGRAPH_WS_SILENCE_TIMEOUT_MS "
                f"({settings.ws_ping_interval_ms} >= {settings.ws_silence_timeout_ms})"
            )
        if settings.access_token_ttl_seconds > settings.max_token_lifetime_seconds:
            raise ConfigError(
                "BIZGRAPH_ACCESS_TOKEN_TTL_SECONDS must not exceed BIZGRAPH_MAX_TOKEN_LIFETIME_SECONDS "
                f"({settings.access_token_ttl_seconds} > {settings.max_token_lifetime_seconds})"
            )
        if settings.login_failures_before_delay > settings.login_failures_before_lockout:
            raise ConfigError(
                "BIZGRAPH_LOGIN_FAILURES_BEFORE_DELAY must not exceed BIZGRAPH_LOGIN_FAILURES_BEFORE_LOCKOUT "
                f"({settings.login_failures_before_delay} > {settings.login_failures_before_lockout})"
            )
        if settings.default_page_size > settings.max_page_size:
            raise ConfigError(
                "BIZGRAPH_DEFAULT_PAGE_SIZE must not exceed BIZGRAPH_MAX_PAGE_SIZE "
                f"({settings.default_page_size} > {settings.max_page_size})"
            )
        if settings.max_document_bytes > settings.max_request_bytes:
            # A document the limits allow must fit in a request body they allow.
            raise ConfigError(
                "BIZGRAPH_MAX_DOCUMENT_BYTES must not exceed BIZGRAPH_MAX_REQUEST_BYTES "
                f"({settings.max_document_bytes} > {settings.max_request_bytes})"
            )
        if 0 < settings.rate_limit_cost_per_minute < settings.max_cost:
            # A bucket holds a minute's budget at most: an operation costing more could never run.
            raise ConfigError(
                "BIZGRAPH_RATE_LIMIT_COST_PER_MINUTE must be 0 (off) or at least BIZGRAPH_MAX_COST "
                f"({settings.rate_limit_cost_per_minute} < {settings.max_cost})"
            )
        if settings.transaction_pooler and settings.prepared_statements:
            # PgBouncer keeps prepared statements across transactions only from 1.21 on.
            raise ConfigError("BIZGRAPH_PREPARED_STATEMENTS must be off with BIZGRAPH_POOLER=transaction")
        if settings.transaction_pooler and settings.listen_database_url is None:
            # A LISTEN through a transaction pooler is lost with the transaction's server session.
            raise ConfigError(
                "BIZGRAPH_POOLER=transaction needs BIZGRAPH_LISTEN_DATABASE_URL: the change feed's LISTEN"
                " must reach PostgreSQL directly, not through the pooler"
            )
        if settings.log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ConfigError("BIZGRAPH_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR")
        return settings

    def with_database(self, url: URL | str) -> Settings:
        parsed = url if isinstance(url, URL) else parse_database_url(url, "database url")
        return replace(self, database_url=parsed)


def parse_database_url(raw: str, name: str) -> URL:
    """Accept ``postgresql://`` (and ``postgres://``) URLs; drive them with psycopg 3."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError(f"{name} is not a database URL: {raw!r}") from None
    if url.get_backend_name() not in {"postgresql", "postgres"}:
        raise ConfigError(f"{name} must be a postgresql:// URL, got {url.get_backend_name()}://")
    if url.get_driver_name() not in {"psycopg", "psycopg2", "", None} and "+" in url.drivername:
        raise ConfigError(f"{name}: only the psycopg driver is supported (got {url.drivername})")
    if not url.database:
        raise ConfigError(f"{name} must name a database")
    return url.set(drivername="postgresql+psycopg")


def libpq_conninfo(url: URL) -> str:
    """The libpq connection string of a database URL, for psycopg used directly."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _role_name(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name)
    if raw is None:
        return default
    role = raw.strip()
    # It travels in libpq's startup options, where a space or quote would split it.
    if role and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", role):
        raise ConfigError(f"{name} must be a plain PostgreSQL role name (or empty), got {raw!r}")
    return role


def _pooler(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in {"", "none"}:
        return False
    if raw == "transaction":
        return True
    raise ConfigError(f"{name} must be none or transaction (a transaction-mode pooler such as PgBouncer), got {raw!r}")


def _redis_url(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if urlsplit(raw).scheme not in {"redis", "rediss", "unix"}:
        raise ConfigError(f"{name} must be a redis://, rediss:// or unix:// URL")
    return raw


def _origins(env: Mapping[str, str], name: str) -> frozenset[str]:
    """Browser origins (``scheme://host[:port]``, as the ``Origin`` header spells them), or ``*``."""
    origins: set[str] = set()
    for part in env.get(name, "").split(","):
        raw = part.strip()
        if not raw:
            continue
        if raw == "*":
            origins.add(raw)
            continue
        parts = urlsplit(raw)
        if parts.scheme not in {"http", "https"} or not parts.hostname or parts.path.strip("/") or parts.query:
            raise ConfigError(f"{name}: {raw!r} is not an origin like https://app.example.com (or *)")
        origins.add(f"{parts.scheme}://{parts.netloc}".lower())
    return frozenset(origins)


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _roles(env: Mapping[str, str], name: str, default: frozenset[str]) -> frozenset[str]:
    from app.models.states import USER_ROLES

    raw = env.get(name)
    if raw is None:
        return default
    roles = frozenset(part.strip() for part in raw.split(",") if part.strip())
    unknown = sorted(roles - set(USER_ROLES))
    if unknown:
        raise ConfigError(f"{name}: unknown role(s) {', '.join(unknown)}; roles are {', '.join(USER_ROLES)}")
    return roles


def _issuer(env: Mapping[str, str], name: str) -> str:
    raw = env.get(name, "").strip()
    if not raw:
        return DEFAULT_ISSUER
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"{name} must be an http(s) URL without query or fragment, got {raw!r}")
    # Tokens compare ``iss`` as a string: one spelling, without a trailing slash.
    return raw.rstrip("/")


def _paths(env: Mapping[str, str], name: str) -> tuple[Path, ...]:
    raw = env.get(name, "")
    return tuple(Path(part.strip()).expanduser() for part in raw.split(",") if part.strip())


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _metrics_token(env: Mapping[str, str]) -> str | None:
    raw = env.get("BIZGRAPH_METRICS_TOKEN", "").strip()
    if not raw:
        return None
    if len(raw) < 16:
        # A guessable token would leave the endpoint open in all but name.
        raise ConfigError("BIZGRAPH_METRICS_TOKEN must be at least 16 characters")
    return raw


def _log_format(env: Mapping[str, str]) -> str:
    raw = env.get("BIZGRAPH_LOG_FORMAT", "auto").strip().lower() or "auto"
    if raw not in {"auto", "json", "text"}:
        raise ConfigError(f"BIZGRAPH_LOG_FORMAT must be auto, json or text, not {raw!r}")
    return raw


def _sample_ratio(env: Mapping[str, str]) -> float:
    """BIZGRAPH_TRACING_SAMPLE_RATIO, else the standard OTEL_TRACES_SAMPLER_ARG, else every request."""
    for name in ("BIZGRAPH_TRACING_SAMPLE_RATIO", "OTEL_TRACES_SAMPLER_ARG"):
        raw = env.get(name, "").strip()
        if not raw:
            continue
        try:
            ratio = float(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number from 0 to 1, got {raw!r}") from None
        if not 0.0 <= ratio <= 1.0:
            raise ConfigError(f"{name} must be a number from 0 to 1, got {raw!r}")
        return ratio
    return 1.0


def _otlp_traces_endpoint(env: Mapping[str, str]) -> str:
    """The standard variables: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is the full URL spans are posted
    to; OTEL_EXPORTER_OTLP_ENDPOINT is the collector's base URL, which ``/v1/traces`` follows."""
    name, raw = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    url = raw
    if not raw:
        name, raw = "OTEL_EXPORTER_OTLP_ENDPOINT", env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
        if not raw:
            return DEFAULT_OTLP_TRACES_ENDPOINT
        url = raw.rstrip("/") + "/v1/traces"
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        # Spans go over OTLP/HTTP (protobuf): a gRPC-only or malformed address would lose every one.
        raise ConfigError(f"{name} must be an http(s) URL of an OTLP/HTTP collector, got {raw!r}")
    return url
