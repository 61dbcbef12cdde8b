"""Given an attacker at ``/oauth/token`` or holding a suspicious token, when they try, then
guessing is throttled and locked out, unknown clients look like wrong secrets, malformed forms are
``invalid_request``, and over-long tokens or tokens of gone, disabled or demoted users are refused."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import statistics
import time
from dataclasses import replace

import httpx
import pytest
from joserfc import jwt

from app.seed.users import DEMO_PASSWORD
from resolvers.accounts.admin import create_client, create_user, disable_user
from tests.support.auth import bearer, token_for, token_for_user
from tests.support.db import conninfo
from tests.support.graphql import sql

QUERY = {"query": "{ customers(first: 1) { totalCount } }"}
YEAR_9999 = 253_402_300_799
PASSWORD = "hardening-passphrase"


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@contextlib.asynccontextmanager
async def hardened(settings, **overrides):
    """The app with the user check on, small throttle limits and a hand-moved clock:
    (app, clock, a factory of clients that come from a given address)."""
    from app.server import create_app

    limits = {
        "check_token_users": True,
        "login_failures_before_delay": 3,
        "login_failures_before_lockout": 6,
        "login_lockout_seconds": 600,
        "login_failure_window_seconds": 300,
        **overrides,
    }
    application = create_app(replace(settings, **limits))
    clock = Clock()
    async with application.router.lifespan_context(application):
        application.state.auth.throttle.clock = clock
        application.state.auth.authenticator.users.clock = clock
        clients: list[httpx.AsyncClient] = []

        def from_address(address: str = "198.51.100.7") -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=application, client=(address, 40000))
            client = httpx.AsyncClient(transport=transport, base_url="http://bizgraph.test")
            clients.append(client)
            return client

        try:
            yield application, clock, from_address
        finally:
            for client in clients:
                await client.aclose()


async def _sign_in(http, username, password):
    form = {"grant_type": "password", "client_id": "bizgraph-dev", "username": username, "password": password}
    return await http.post("/oauth/token", data=form)


def _basic(client_id, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def _refused_token(response) -> str:
    assert response.status_code == 401, response.text
    challenge = response.headers["www-authenticate"]
    assert 'error="invalid_token"' in challenge
    return response.json()["errors"][0]["message"]


@pytest.fixture(scope="module")
def service_client(accounts_settings):
    return create_client(accounts_settings, org="acme", name="hardening probe", scopes=["analyst"])


# --- throttling ----------------------------------------------------------------------------------


async def test_280_wrong_passwords_are_slowed_down_then_locked_out(accounts_settings):
    async with hardened(accounts_settings) as (_, clock, from_address):
        http = from_address()
        answers = [await _sign_in(http, "sales@acme.example", f"guess-{n}") for n in range(280)]
        statuses = [answer.status_code for answer in answers]
        # Three real checks, then every attempt is refused before any password check.
        assert statuses[:3] == [400, 400, 400] and set(statuses[3:]) == {429}
        throttled = answers[3]
        assert throttled.json()["error"] == "temporarily_unavailable"
        assert throttled.headers["retry-after"] == "1" and throttled.headers["cache-control"] == "no-store"
        # Each further failure doubles the wait, until the lockout.
        waits = []
        for _ in range(3):
            clock.advance(int(waits[-1]) if waits else 1)
            assert (await _sign_in(http, "sales@acme.example", "still-guessing")).status_code == 400
            waits.append((await _sign_in(http, "sales@acme.example", "again")).headers["retry-after"])
        assert waits == ["2", "4", "600"]
        # Locked out: not even the right password gets in, until the lockout ends.
        locked = await _sign_in(http, "sales@acme.example", DEMO_PASSWORD)
        assert locked.status_code == 429 and locked.headers["retry-after"] == "600"
        clock.advance(600)
        assert (await _sign_in(http, "sales@acme.example", DEMO_PASSWORD)).status_code == 200


async def test_the_username_is_throttled_whatever_address_the_guesses_come_from(accounts_settings):
    async with hardened(accounts_settings) as (_, _clock, from_address):
        for n in range(3):
            answer = await _sign_in(from_address(f"203.0.113.{n}"), "Finance@Acme.Example", "wrong")
            assert answer.status_code == 400
        assert (await _sign_in(from_address("203.0.113.99"), "finance@acme.example", "wrong")).status_code == 429
        # Another person signs in from a fresh address as usual.
        assert (await _sign_in(from_address("203.0.113.98"), "hr@acme.example", DEMO_PASSWORD)).status_code == 200


async def test_one_address_trying_many_usernames_is_throttled(accounts_settings):
    async with hardened(accounts_settings) as (_, _clock, from_address):
        http = from_address("192.0.2.1")
        for n in range(3):
            assert (await _sign_in(http, f"nobody-{n}@acme.example", "wrong")).status_code == 400
        assert (await _sign_in(http, "nobody-new@acme.example", "wrong")).status_code == 429
        assert (await _sign_in(from_address("192.0.2.2"), "nobody-new@acme.example", "wrong")).status_code == 400


async def test_a_client_whose_secret_is_guessed_is_throttled_from_any_address(accounts_settings, service_client):
    async with hardened(accounts_settings) as (_, _clock, from_address):
        form = {"grant_type": "client_credentials"}
        for n in range(3):
            http = from_address(f"198.51.100.{n}")
            answer = await http.post("/oauth/token", data=form, headers=_basic(service_client.client_id, "guess"))
            assert answer.status_code == 401
        http = from_address("198.51.100.200")
        right = _basic(service_client.client_id, service_client.client_secret)
        assert (await http.post("/oauth/token", data=form, headers=right)).status_code == 429


async def test_a_successful_sign_in_forgets_the_usernames_failures(accounts_settings):
    async with hardened(accounts_settings) as (_, _clock, from_address):
        # A new address each time, so that only the username's count matters.
        addresses = (f"100.64.0.{n}" for n in range(1, 100))
        for _ in range(2):
            assert (await _sign_in(from_address(next(addresses)), "admin@acme.example", "typo")).status_code == 400
        assert (await _sign_in(from_address(next(addresses)), "admin@acme.example", DEMO_PASSWORD)).status_code == 200
        for _ in range(3):
            assert (await _sign_in(from_address(next(addresses)), "admin@acme.example", "typo")).status_code == 400
        assert (await _sign_in(from_address(next(addresses)), "admin@acme.example", "typo")).status_code == 429


async def test_failures_age_out_after_the_window(accounts_settings):
    async with hardened(accounts_settings) as (_, clock, from_address):
        http = from_address()
        for _ in range(3):
            await _sign_in(http, "analyst@acme.example", "wrong")
        assert (await _sign_in(http, "analyst@acme.example", "wrong")).status_code == 429
        clock.advance(300)
        assert (await _sign_in(http, "analyst@acme.example", "wrong")).status_code == 400


# --- unknown client and wrong secret look alike --------------------------------------------------


def _comparable(response):
    headers = {k: v for k, v in response.headers.items() if k not in {"date", "content-length"}}
    return response.status_code, response.json(), headers


async def test_an_unknown_client_is_answered_exactly_like_a_wrong_secret(accounts_settings, service_client):
    async with hardened(accounts_settings, login_failures_before_delay=1000, login_failures_before_lockout=1000) as (
        _,
        _clock,
        from_address,
    ):
        http = from_address()
        form = {"grant_type": "client_credentials"}
        known = service_client.client_id

        async def timed(**request):
            started = time.perf_counter()
            response = await http.post("/oauth/token", **request)
            return response, time.perf_counter() - started

        cases = {
            "basic": (
                {"data": form, "headers": _basic(known, "wrong-secret")},
                {"data": form, "headers": _basic("bgc_nobody-at-all", "wrong-secret")},
            ),
            "post": (
                {"data": {**form, "client_id": known, "client_secret": "wrong-secret"}},
                {"data": {**form, "client_id": "bgc_nobody-at-all", "client_secret": "wrong-secret"}},
            ),
        }
        for wrong_secret, unknown_client in cases.values():
            wrong = [await timed(**wrong_secret) for _ in range(3)]
            unknown = [await timed(**unknown_client) for _ in range(3)]
            assert _comparable(wrong[0][0]) == _comparable(unknown[0][0])
            assert wrong[0][0].status_code == 401 and wrong[0][0].json()["error"] == "invalid_client"
            # Both cost one password check (~0.2 s): an unknown client is not answered faster.
            ratio = statistics.median(t for _, t in unknown) / statistics.median(t for _, t in wrong)
            assert 0.5 < ratio < 2, ratio


# --- malformed forms -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "grant_type=password&client_id=bizgraph-dev&username=sales%00@acme.example&password=x",
        "grant_type=password&client_id=bizgraph-dev&username=sales@acme.example&password=a%00b",
        "grant_type=client_credentials&client_id=bgc%00x&client_secret=y",
        "grant_type=password&client_id=bizgraph-dev&user%00name=a&password=b",
        "grant_type=password&client_id=bizgraph-dev&username=%ff%fe@acme.example&password=x",
        "grant_type=password&client_id=bizgraph-dev&username=%ed%a0%80&password=x",
        b"grant_type=password&client_id=bizgraph-dev&username=\xff&password=x",
        "grant_type=password&client_id=bizgraph-dev&username=" + "u" * 1025 + "&password=x",
        "grant_type=password&client_id=bizgraph-dev&username=a@b.example&password=" + "p" * 1025,
        "grant_type=password&client_id=bizgraph-dev&username=a@b.example&password=x&scope=" + "s" * 1025,
        "grant_type=password&padding=" + "x" * 17_000,
    ],
    ids=[
        "nul-username",
        "nul-password",
        "nul-client-id",
        "nul-name",
        "invalid-utf8-escape",
        "surrogate-escape",
        "invalid-utf8-bytes",
        "long-username",
        "long-password",
        "long-scope",
        "large-body",
    ],
)
async def test_a_malformed_form_is_invalid_request_never_500(accounts_client, body):
    response = await accounts_client.post(
        "/oauth/token", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    "credentials",
    [b"bgc_x\x00:secret", b"\xff\xfe:secret", b"bgc_x:" + b"s" * 1100],
    ids=["nul", "invalid-utf8", "long-secret"],
)
async def test_malformed_basic_credentials_are_invalid_request(accounts_client, credentials):
    header = {"Authorization": "Basic " + base64.b64encode(credentials).decode()}
    response = await accounts_client.post("/oauth/token", data={"grant_type": "client_credentials"}, headers=header)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


# --- token lifetime ------------------------------------------------------------------------------


def _signed(application, claims):
    key = application.state.auth.keys.signing
    return jwt.encode({"typ": "at+jwt", "alg": key.alg, "kid": key.kid}, claims, key.key, algorithms=[key.alg])


async def test_a_token_that_lives_until_the_year_9999_is_refused(accounts_settings):
    async with hardened(accounts_settings) as (application, _clock, from_address):
        http = from_address()
        forever = token_for_user(application, "admin@acme.example", ttl_seconds=YEAR_9999 - int(time.time()))
        assert "lives longer than 86400 seconds" in _refused_token(
            await http.post("/graphql", json=QUERY, headers=bearer(forever))
        )
        # Without iat, the lifetime counts from now.
        claims = jwt.decode(token_for_user(application, "admin@acme.example"), application.state.auth.keys.signing.key)
        undated = {k: v for k, v in claims.claims.items() if k not in {"iat", "nbf"}} | {"exp": YEAR_9999}
        response = await http.post("/graphql", json=QUERY, headers=bearer(_signed(application, undated)))
        assert "lives longer" in _refused_token(response)
        # A day is still fine.
        a_day = token_for_user(application, "admin@acme.example", ttl_seconds=86_400)
        assert (await http.post("/graphql", json=QUERY, headers=bearer(a_day))).status_code == 200


async def test_the_maximum_lifetime_is_configurable(accounts_settings):
    async with hardened(accounts_settings, max_token_lifetime_seconds=1800) as (application, _clock, from_address):
        http = from_address()
        hour = token_for_user(application, "admin@acme.example", ttl_seconds=3600)
        assert "1800" in _refused_token(await http.post("/graphql", json=QUERY, headers=bearer(hour)))


# --- the token's user ----------------------------------------------------------------------------


async def test_a_token_of_a_user_that_does_not_exist_is_refused(accounts_settings):
    async with hardened(accounts_settings) as (application, _clock, from_address):
        made_up = token_for(application, org_id=1, roles={"admin"}, user_id=987_654_321)
        response = await from_address().post("/graphql", json=QUERY, headers=bearer(made_up))
        assert "does not exist" in _refused_token(response)


async def test_a_token_of_a_user_of_another_organization_is_refused(accounts_settings):
    async with hardened(accounts_settings) as (application, _clock, from_address):
        globex_admin = token_for_user(application, "admin@globex.example")
        moved = token_for_user(application, "admin@globex.example", org_id=1, org_slug="acme")
        http = from_address()
        assert (await http.post("/graphql", json=QUERY, headers=bearer(globex_admin))).status_code == 200
        assert "does not exist" in _refused_token(await http.post("/graphql", json=QUERY, headers=bearer(moved)))


async def test_a_token_with_roles_the_user_does_not_have_is_refused(accounts_settings):
    async with hardened(accounts_settings) as (application, _clock, from_address):
        widened = token_for_user(application, "analyst@acme.example", roles={"analyst", "admin"})
        response = await from_address().post("/graphql", json=QUERY, headers=bearer(widened))
        assert "roles" in _refused_token(response)


def _new_user(settings, email):
    return create_user(settings, org="acme", email=email, password=PASSWORD, roles=["analyst"])


async def test_disabling_a_user_refuses_its_tokens_within_the_cache_lifetime(accounts_settings):
    async with hardened(accounts_settings, token_user_cache_seconds=30) as (_application, clock, from_address):
        http = from_address()
        _new_user(accounts_settings, "leaver@acme.example")
        token = (await _sign_in(http, "leaver@acme.example", PASSWORD)).json()["access_token"]
        assert (await http.post("/graphql", json=QUERY, headers=bearer(token))).status_code == 200
        disable_user(accounts_settings, org="acme", email="leaver@acme.example")
        # Within the cache's lifetime the last answer stands ...
        clock.advance(29)
        assert (await http.post("/graphql", json=QUERY, headers=bearer(token))).status_code == 200
        # ... and not a moment longer.
        clock.advance(1)
        assert "disabled" in _refused_token(await http.post("/graphql", json=QUERY, headers=bearer(token)))
        # A disabled user cannot sign in any more either.
        refused = await _sign_in(http, "leaver@acme.example", PASSWORD)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


async def test_a_deleted_users_token_is_refused_once_the_cache_expires(accounts_settings):
    async with hardened(accounts_settings, token_user_cache_seconds=5) as (_application, clock, from_address):
        http = from_address()
        user_id = _new_user(accounts_settings, "deleted@acme.example")
        token = (await _sign_in(http, "deleted@acme.example", PASSWORD)).json()["access_token"]
        assert (await http.post("/graphql", json=QUERY, headers=bearer(token))).status_code == 200
        sql(accounts_settings.database_url, "DELETE FROM users WHERE id = %s RETURNING id", user_id)
        clock.advance(5)
        assert "does not exist" in _refused_token(await http.post("/graphql", json=QUERY, headers=bearer(token)))


async def test_a_role_taken_away_refuses_tokens_that_carry_it(accounts_settings):
    async with hardened(accounts_settings, token_user_cache_seconds=0) as (_application, _clock, from_address):
        http = from_address()
        user_id = create_user(
            accounts_settings, org="acme", email="demoted@acme.example", password=PASSWORD, roles=["analyst", "finance"]
        )
        token = (await _sign_in(http, "demoted@acme.example", PASSWORD)).json()["access_token"]
        assert (await http.post("/graphql", json=QUERY, headers=bearer(token))).status_code == 200
        sql(accounts_settings.database_url, "UPDATE users SET roles = '{analyst}' WHERE id = %s RETURNING id", user_id)
        assert "roles" in _refused_token(await http.post("/graphql", json=QUERY, headers=bearer(token)))
        narrowed = await http.post(
            "/oauth/token",
            data={
                "grant_type": "password",
                "client_id": "bizgraph-dev",
                "username": "demoted@acme.example",
                "password": PASSWORD,
            },
        )
        fresh = narrowed.json()["access_token"]
        assert (await http.post("/graphql", json=QUERY, headers=bearer(fresh))).status_code == 200


# --- the command line ----------------------------------------------------------------------------


@pytest.fixture
def run_here(accounts_settings, signing_key, monkeypatch, capsys):
    from app.cli import main

    monkeypatch.setenv("DATABASE_URL", conninfo(accounts_settings.database_url))
    monkeypatch.setenv("BIZGRAPH_SIGNING_KEYS", str(signing_key))

    def bizgraph(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return bizgraph


async def test_disable_user_on_the_command_line(run_here, accounts_settings):
    _new_user(accounts_settings, "cli-leaver@acme.example")
    async with hardened(accounts_settings) as (_application, _clock, from_address):
        http = from_address()
        code, out, _ = run_here("disable-user", "--org", "acme", "--email", "CLI-Leaver@acme.example")
        assert code == 0 and "disabled user" in out and "30 s" in out
        assert (await _sign_in(http, "cli-leaver@acme.example", PASSWORD)).status_code == 400
    code, _, err = run_here("disable-user", "--org", "acme", "--email", "nobody@acme.example")
    assert code == 2 and err == "bizgraph: no user 'nobody@acme.example' in organization 'acme'\n"


def test_issue_token_ttl_is_bounded_by_the_maximum_lifetime(run_here, monkeypatch):
    code, _, err = run_here("issue-token", "--org", "acme", "--email", "admin@acme.example", "--ttl", "86401")
    assert code == 2 and "BIZGRAPH_MAX_TOKEN_LIFETIME_SECONDS (86400)" in err
    monkeypatch.setenv("BIZGRAPH_MAX_TOKEN_LIFETIME_SECONDS", "7200")
    code, out, _ = run_here("issue-token", "--org", "acme", "--email", "admin@acme.example", "--ttl", "7200")
    assert code == 0 and out.count(".") == 2
    code, _, err = run_here("issue-token", "--org", "acme", "--email", "admin@acme.example", "--ttl", "7201")
    assert code == 2 and "(7200)" in err


async def test_a_burst_of_parallel_guesses_is_throttled_like_a_sequence(accounts_settings):
    async with hardened(accounts_settings) as (_, _clock, from_address):
        http = from_address()
        answers = await asyncio.gather(*(_sign_in(http, "hr@acme.example", f"guess-{n}") for n in range(20)))
        statuses = sorted(answer.status_code for answer in answers)
        # As many password checks as failures allowed before the first delay; the rest wait.
        assert statuses == [400] * 3 + [429] * 17


async def test_concurrent_checks_of_many_users_share_their_look_ups(accounts_settings):
    """Forty users' requests at once (as sockets re-checking at their pings): the users are
    looked up a few at a time, not once each, and each request still gets its own user's
    standing."""
    from tests.support.graphql import count_statements

    async with hardened(accounts_settings, token_user_cache_seconds=30) as (application, _clock, from_address):
        http = from_address()
        emails = [f"batched-{n}@acme.example" for n in range(40)]
        for email in emails:
            _new_user(accounts_settings, email)
        tokens = [token_for_user(application, email, roles={"analyst"}) for email in emails]
        disable_user(accounts_settings, org="acme", email=emails[7])
        with count_statements(application) as seen:
            answers = await asyncio.gather(*(http.post("/graphql", json=QUERY, headers=bearer(t)) for t in tokens))
        look_ups = [statement for statement in seen if "bizgraph_token_user" in statement]
        assert 1 <= len(look_ups) <= 4, len(look_ups)
        statuses = [answer.status_code for answer in answers]
        assert statuses[7] == 401 and "disabled" in _refused_token(answers[7])
        assert statuses[:7] + statuses[8:] == [200] * 39


async def test_users_in_use_are_refreshed_ahead_together_and_the_rest_forgotten(accounts_settings):
    """Forty users keep coming back (as sockets do at their pings); ten stop. When the first
    answer runs out, one look-up refreshes every user in use whose answer runs out within a
    third of the lifetime, so the other thirty ask nothing; the ten that stopped are not
    looked up, and are forgotten once their answers ran out."""
    from tests.support.graphql import count_statements

    async with hardened(accounts_settings, token_user_cache_seconds=30) as (application, clock, from_address):
        http = from_address()
        users = application.state.auth.authenticator.users
        emails = [f"ahead-{n}@acme.example" for n in range(50)]
        ids = [_new_user(accounts_settings, email) for email in emails]
        tokens = [token_for_user(application, email, roles={"analyst"}) for email in emails]

        async def ask(chosen: list[str]) -> list[str]:
            with count_statements(application) as seen:
                for token in chosen:  # one after the other: nothing shared by being concurrent
                    assert (await http.post("/graphql", json=QUERY, headers=bearer(token))).status_code == 200
            return [statement for statement in seen if "bizgraph_token_user" in statement]

        assert len(await ask(tokens)) == 50  # each a first sighting, one after the other
        clock.advance(25)
        assert await ask(tokens[:40]) == []  # still standing: now known to be in use
        disable_user(accounts_settings, org="acme", email=emails[39])
        clock.advance(5)  # every answer ran out
        looked_up = await ask(tokens[:39])
        assert len(looked_up) == 1, looked_up
        assert set(users._seen) == set(ids[:40])
        # The refresh saw the user disabled since: refused, with no look-up of its own.
        refused = await http.post("/graphql", json=QUERY, headers=bearer(tokens[39]))
        assert "disabled" in _refused_token(refused)
        # Never older than the lifetime: a user left alone is looked up again when asked.
        clock.advance(30)
        assert len(await ask(tokens[:1])) == 1
