"""Bad or missing configuration fails at start with one clear line."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from app.config import Settings
from app.errors import ConfigError


@pytest.mark.parametrize(
    "env, words",
    [
        ({"DATABASE_URL": "mysql://x@y/z"}, "postgresql://"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://u@h:5432/"}, "must name a database"),
        ({"BIZGRAPH_MAX_PAGE_SIZE": "lots"}, "BIZGRAPH_MAX_PAGE_SIZE"),
        ({"BIZGRAPH_DEFAULT_PAGE_SIZE": "500"}, "must not exceed"),
        ({"BIZGRAPH_DEMO": "maybe"}, "BIZGRAPH_DEMO"),
        ({"BIZGRAPH_ISSUER": "ftp://bizgraph.example"}, "BIZGRAPH_ISSUER"),
        ({"BIZGRAPH_ISSUER": "https://bizgraph.example/?x=1"}, "BIZGRAPH_ISSUER"),
        ({"BIZGRAPH_ACCESS_TOKEN_TTL_SECONDS": "10"}, "BIZGRAPH_ACCESS_TOKEN_TTL_SECONDS"),
        ({"BIZGRAPH_TOKEN_LEEWAY_SECONDS": "-1"}, "BIZGRAPH_TOKEN_LEEWAY_SECONDS"),
        ({"BIZGRAPH_TRUSTED_ISSUERS": "[{"}, "BIZGRAPH_TRUSTED_ISSUERS is not valid JSON"),
        ({"BIZGRAPH_TRUSTED_ISSUERS": '{"issuer": "https://idp"}'}, "JSON list"),
        ({"BIZGRAPH_TRUSTED_ISSUERS": '[{"issuer": "https://idp"}]'}, "BIZGRAPH_TRUSTED_ISSUERS[0].jwks_uri"),
        (
            {"BIZGRAPH_TRUSTED_ISSUERS": '[{"issuer": "https://idp", "jwks_uri": "http://idp.example/keys"}]'},
            "https://",
        ),
        (
            {
                "BIZGRAPH_TRUSTED_ISSUERS": '[{"issuer": "https://idp", "jwks_uri": "https://idp/keys",'
                ' "algorithms": ["HS256"]}]'
            },
            "HS256 not accepted",
        ),
        (
            {"BIZGRAPH_TRUSTED_ISSUERS": '[{"issuer": "https://idp", "jwks_uri": "https://idp/keys", "orgs": "x"}]'},
            "unknown field(s) orgs",
        ),
        (
            {"BIZGRAPH_TRUSTED_ISSUERS": '[{"issuer": "http://127.0.0.1:8000", "jwks_uri": "https://idp/keys"}]'},
            "own issuer",
        ),
        (
            {
                "BIZGRAPH_TRUSTED_ISSUERS": '[{"issuer": "https://idp", "jwks_uri": "https://idp/keys",'
                ' "max_token_lifetime_seconds": 0}]'
            },
            "BIZGRAPH_TRUSTED_ISSUERS[0].max_token_lifetime_seconds",
        ),
        ({"BIZGRAPH_MAX_TOKEN_LIFETIME_SECONDS": "30"}, "BIZGRAPH_MAX_TOKEN_LIFETIME_SECONDS must be at least 60"),
        ({"BIZGRAPH_MAX_TOKEN_LIFETIME_SECONDS": "600"}, "must not exceed BIZGRAPH_MAX_TOKEN_LIFETIME_SECONDS"),
        ({"BIZGRAPH_TOKEN_USER_CACHE_SECONDS": "-1"}, "BIZGRAPH_TOKEN_USER_CACHE_SECONDS"),
        ({"BIZGRAPH_CHECK_TOKEN_USERS": "perhaps"}, "BIZGRAPH_CHECK_TOKEN_USERS"),
        ({"BIZGRAPH_LOGIN_FAILURES_BEFORE_DELAY": "20"}, "must not exceed BIZGRAPH_LOGIN_FAILURES_BEFORE_LOCKOUT"),
        ({"BIZGRAPH_LOGIN_LOCKOUT_SECONDS": "0"}, "BIZGRAPH_LOGIN_LOCKOUT_SECONDS"),
        (
            {"BIZGRAPH_PERSISTED_ONLY_ROLES": "customer,shopper"},
            "BIZGRAPH_PERSISTED_ONLY_ROLES: unknown role(s) shopper",
        ),
    ],
)
def test_bad_settings_raise_config_error_naming_the_variable(env, words):
    with pytest.raises(ConfigError) as error:
        Settings.from_env(env)
    assert words in str(error.value)


def test_valid_settings_use_psycopg():
    settings = Settings.from_env({"DATABASE_URL": "postgresql://u:p@db:5432/biz", "BIZGRAPH_MAX_PAGE_SIZE": "200"})
    assert settings.database_url.drivername == "postgresql+psycopg" and settings.max_page_size == 200


@pytest.mark.parametrize(
    "args, env",
    [
        (["migrate"], {"DATABASE_URL": "mysql://x@y/z"}),
        (["migrate"], {}),
        (["serve"], {"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"}),
    ],
)
def test_cli_prints_one_line_and_no_traceback(args, env):
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, env={"PATH": "", **env}
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("bizgraph: ")
    assert "Traceback" not in result.stderr


def test_auth_settings_have_documented_defaults_and_parse():
    defaults = Settings.from_env({})
    assert (defaults.issuer, defaults.audience) == ("http://127.0.0.1:8000", "bizgraph")
    assert (defaults.access_token_ttl_seconds, defaults.token_leeway_seconds) == (900, 30)
    assert defaults.signing_keys == () and defaults.trusted_issuers == ()
    settings = Settings.from_env(
        {
            "BIZGRAPH_ISSUER": "https://api.example.com/",
            "BIZGRAPH_SIGNING_KEYS": "/keys/new.pem, /keys/old.pem",
            "BIZGRAPH_TRUSTED_ISSUERS": '[{"issuer": "https://idp", "jwks_uri": "https://idp/keys",'
            ' "roles_claim": "groups", "customer_claim": "cust"}]',
        }
    )
    assert settings.issuer == "https://api.example.com"  # one spelling: no trailing slash
    assert [str(p) for p in settings.signing_keys] == ["/keys/new.pem", "/keys/old.pem"]
    [idp] = settings.trusted_issuers
    assert (idp.audience, idp.roles_claim, idp.org_claim, idp.customer_claim) == ("bizgraph", "groups", "org", "cust")
    assert idp.algorithms == frozenset({"RS256", "ES256"})
    assert idp.max_token_lifetime_seconds is None


def test_hardening_settings_have_documented_defaults():
    defaults = Settings.from_env({})
    assert (defaults.max_token_lifetime_seconds, defaults.token_user_cache_seconds) == (86_400, 30)
    assert defaults.check_token_users is True
    assert (defaults.login_failures_before_delay, defaults.login_failures_before_lockout) == (3, 10)
    assert (defaults.login_lockout_seconds, defaults.login_failure_window_seconds) == (900, 900)


def test_nobody_is_held_to_stored_operations_unless_configured():
    assert Settings.from_env({}).persisted_only_roles == frozenset()
    configured = Settings.from_env({"BIZGRAPH_PERSISTED_ONLY_ROLES": " customer, employee ,"})
    assert configured.persisted_only_roles == {"customer", "employee"}


def test_serve_without_signing_keys_says_which_variable_is_missing():
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve"],
        capture_output=True,
        text=True,
        env={"PATH": "", "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"},
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "BIZGRAPH_SIGNING_KEYS" in result.stderr


@pytest.mark.parametrize(
    "env, words",
    [
        ({"BIZGRAPH_ALLOWED_ORIGINS": "app.example.com"}, "BIZGRAPH_ALLOWED_ORIGINS"),
        ({"BIZGRAPH_ALLOWED_ORIGINS": "https://app.example.com/path"}, "is not an origin"),
        ({"BIZGRAPH_WS_PING_INTERVAL_MS": "30000"}, "must be less than BIZGRAPH_WS_SILENCE_TIMEOUT_MS"),
        ({"BIZGRAPH_WS_INIT_TIMEOUT_MS": "0"}, "BIZGRAPH_WS_INIT_TIMEOUT_MS must be at least 1"),
        ({"BIZGRAPH_MAX_SUBSCRIPTIONS_PER_PRINCIPAL": "many"}, "BIZGRAPH_MAX_SUBSCRIPTIONS_PER_PRINCIPAL"),
    ],
)
def test_bad_live_settings_raise_config_error_naming_the_variable(env, words):
    with pytest.raises(ConfigError) as error:
        Settings.from_env(env)
    assert words in str(error.value)


def test_live_settings_have_documented_defaults_and_parse_origins():
    defaults = Settings.from_env({})
    assert defaults.allowed_origins == frozenset()
    assert (defaults.ws_init_timeout_ms, defaults.ws_ping_interval_ms, defaults.ws_silence_timeout_ms) == (
        5_000,
        10_000,
        30_000,
    )
    assert (defaults.max_live_connections, defaults.max_subscriptions_per_connection) == (10_000, 100)
    assert defaults.max_subscriptions_per_principal == 500
    origins = Settings.from_env({"BIZGRAPH_ALLOWED_ORIGINS": "https://App.Example.com/, http://localhost:5173"})
    assert origins.allowed_origins == frozenset({"https://app.example.com", "http://localhost:5173"})
    assert Settings.from_env({"BIZGRAPH_ALLOWED_ORIGINS": "*"}).allowed_origins == frozenset({"*"})


@pytest.mark.parametrize(
    "env, words",
    [
        ({"BIZGRAPH_POOLER": "session"}, "BIZGRAPH_POOLER must be none or transaction"),
        ({"BIZGRAPH_POOLER": "transaction"}, "needs BIZGRAPH_LISTEN_DATABASE_URL"),
        (
            {
                "BIZGRAPH_POOLER": "transaction",
                "BIZGRAPH_LISTEN_DATABASE_URL": "postgresql://u@db:5432/biz",
                "BIZGRAPH_PREPARED_STATEMENTS": "on",
            },
            "BIZGRAPH_PREPARED_STATEMENTS must be off",
        ),
        ({"BIZGRAPH_REPLICA_URLS": "postgresql://u@r1:5432/biz, mysql://u@r2/biz"}, "BIZGRAPH_REPLICA_URLS"),
        ({"BIZGRAPH_REPLICA_MAX_LAG_MS": "-5"}, "BIZGRAPH_REPLICA_MAX_LAG_MS"),
    ],
)
def test_bad_scale_out_settings_raise_config_error_naming_the_variable(env, words):
    with pytest.raises(ConfigError) as error:
        Settings.from_env(env)
    assert words in str(error.value)


def test_scale_out_settings_have_documented_defaults_and_parse():
    defaults = Settings.from_env({})
    assert (defaults.transaction_pooler, defaults.prepared_statements, defaults.replica_urls) == (False, True, ())
    assert (defaults.replica_max_lag_ms, defaults.replica_check_ms) == (1_000, 200)
    pooled = Settings.from_env(
        {"BIZGRAPH_POOLER": "transaction", "BIZGRAPH_LISTEN_DATABASE_URL": "postgresql://u@db:5432/biz"}
    )
    # Behind the pooler statements are never prepared on the server unless said otherwise.
    assert (pooled.transaction_pooler, pooled.prepared_statements) == (True, False)
    replicas = Settings.from_env({"BIZGRAPH_REPLICA_URLS": "postgresql://u@r1:5432/biz,postgresql://u@r2/biz"})
    assert [url.host for url in replicas.replica_urls] == ["r1", "r2"]
    assert {url.drivername for url in replicas.replica_urls} == {"postgresql+psycopg"}


@pytest.mark.parametrize(
    "env, words",
    [
        ({"BIZGRAPH_TRACING": "sometimes"}, "BIZGRAPH_TRACING"),
        ({"BIZGRAPH_TRACING_SAMPLE_RATIO": "1%"}, "BIZGRAPH_TRACING_SAMPLE_RATIO must be a number from 0 to 1"),
        ({"BIZGRAPH_TRACING_SAMPLE_RATIO": "1.5"}, "BIZGRAPH_TRACING_SAMPLE_RATIO"),
        ({"OTEL_TRACES_SAMPLER_ARG": "-0.1"}, "OTEL_TRACES_SAMPLER_ARG"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317"}, "OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "grpc://collector"}, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
    ],
)
def test_bad_trace_settings_raise_config_error_naming_the_variable(env, words):
    with pytest.raises(ConfigError, match=re.escape(words)):
        Settings.from_env(env)


def test_trace_settings_are_off_by_default_and_follow_the_standard_variables():
    default = Settings.from_env({})
    assert default.tracing is False
    assert default.tracing_sample_ratio == 1.0
    assert default.tracing_endpoint == "http://localhost:4318/v1/traces"
    assert default.tracing_service_name == "bizgraph"
    standard = Settings.from_env(
        {
            "BIZGRAPH_TRACING": "on",
            "OTEL_TRACES_SAMPLER_ARG": "0.25",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector.example:4318/",
            "OTEL_SERVICE_NAME": "bizgraph-eu",
        }
    )
    assert standard.tracing is True
    assert standard.tracing_sample_ratio == 0.25
    # The base URL gets the traces path; the traces-only variable is taken as the full URL.
    assert standard.tracing_endpoint == "https://collector.example:4318/v1/traces"
    assert standard.tracing_service_name == "bizgraph-eu"
    own = Settings.from_env(
        {
            "BIZGRAPH_TRACING_SAMPLE_RATIO": "0.01",
            "OTEL_TRACES_SAMPLER_ARG": "0.5",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "https://ignored.example",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/custom/traces",
        }
    )
    assert own.tracing_sample_ratio == 0.01
    assert own.tracing_endpoint == "http://127.0.0.1:4318/custom/traces"
