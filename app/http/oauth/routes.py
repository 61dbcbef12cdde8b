"""HTTP routes of the authorization server: the token endpoint, the JWKS and the metadata."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import anyio.to_thread
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.auth.principal import ROLES
from app.auth.throttle import address_key, client_key, username_key
from app.auth.tokens import DEV_CLIENT_ID
from app.http.oauth.services import AuthServices
from app.http.oauth.token_endpoint import AUTH_METHODS, GRANT_TYPES, Lookups, TokenRequest
from resolvers.accounts import store as accounts

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

MAX_FORM_BYTES = 16 * 1024  # a token request is a few hundred bytes
MAX_FORM_FIELDS = 20
MAX_FIELD_CHARS = 1024  # usernames, passwords, scopes, client ids and secrets are far shorter
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# Failures the throttle counts: a wrong password (or unknown user), a wrong client secret (or unknown client).
FAILURES = frozenset({"invalid_grant", "invalid_client"})


class BadForm(Exception):
    pass


def auth_routes() -> list[Route]:
    return [
        Route("/oauth/token", token, methods=["POST"]),
        Route("/.well-known/jwks.json", jwks, methods=["GET"]),
        Route("/.well-known/openid-configuration", metadata, methods=["GET"]),
        Route("/.well-known/oauth-authorization-server", metadata, methods=["GET"]),
    ]


def _services(request: Request) -> AuthServices:
    services: AuthServices = request.app.state.auth  # set by the lifespan; starlette's state is untyped
    return services


async def token(request: Request) -> Response:
    services = _services(request)
    try:
        form = await _read_form(request)
    except BadForm as error:
        return JSONResponse({"error": "invalid_request", "error_description": str(error)}, 400, NO_STORE)
    keys = _throttle_keys(request, form)
    throttle = services.throttle
    wait = throttle.admit(list(keys.values()))
    if wait:
        # Refused before any lookup or password check: a locked-out guesser costs nothing.
        body = {
            "error": "temporarily_unavailable",
            "error_description": f"Too many failed sign-in attempts: try again in {wait} s.",
        }
        return JSONResponse(body, 429, {**NO_STORE, "Retry-After": str(wait)})
    try:
        lookups = await _look_up(services, request, form)
        token_request = TokenRequest(services.endpoints.token, request.headers, form, lookups)
        # authlib is synchronous and argon2 is slow on purpose: a worker thread, and only
        # a few at once, since every password check holds 64 MiB while it runs.
        status, body, headers = await anyio.to_thread.run_sync(
            services.token_server.respond, token_request, limiter=services.hashing_limiter
        )
    finally:
        throttle.release(keys.values())
    if status == 200 and "username" in keys:
        throttle.succeeded([keys["username"]])
    elif body.get("error") in FAILURES:
        throttle.failed(keys.values())
    return JSONResponse(body, status, dict(headers))


def _throttle_keys(request: Request, form: dict[str, str]) -> dict[str, str]:
    """The throttle's keys for this attempt, by kind: its address, the username it
    tries, the client whose secret it presents."""
    keys = {"address": address_key(request.client.host if request.client else "unknown")}
    if form.get("grant_type") == "password" and form.get("username", "").strip():
        keys["username"] = username_key(form["username"])
    client_id = extract_basic_authorization(request.headers)[0] or form.get("client_id")
    # The public development client is everyone's: throttling it would lock every
    # person out for one guesser. Its sign-ins are throttled by username and address.
    if client_id and client_id != DEV_CLIENT_ID:
        keys["client"] = client_key(client_id)
    return keys


async def _read_form(request: Request) -> dict[str, str]:
    """The form body (RFC 6749 §3.2: x-www-form-urlencoded only), size-capped, each field once."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise BadForm("The body must be application/x-www-form-urlencoded.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise BadForm("The request body is too large.")
    try:
        # errors="strict": a percent-escape of invalid UTF-8 is refused, not replaced.
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise BadForm("The body is not a valid form.") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise BadForm(f"The parameter {name!r} is repeated.")  # RFC 6749 §3.2
        _check_field(name, value)
        form[name] = value
    for name, value in _basic_credentials(request).items():
        _check_field(name, value)
    return form


def _check_field(name: str, value: str) -> None:
    """No NUL (PostgreSQL text cannot hold one), nothing oversized. (Invalid UTF-8, lone
    surrogates included, never gets this far: the body and its escapes are decoded strictly.)"""
    shown = name if name.isascii() and name.isprintable() and len(name) <= 40 else "a parameter"
    for text in (name, value):
        if "\x00" in text:
            raise BadForm(f"The parameter {shown!r} contains a NUL character.")
        if len(text) > MAX_FIELD_CHARS:
            raise BadForm(f"The parameter {shown!r} is longer than {MAX_FIELD_CHARS} characters.")


def _basic_credentials(request: Request) -> dict[str, str]:
    """The client id and secret of an HTTP Basic header, checked like form fields."""
    try:
        client_id, secret = extract_basic_authorization(request.headers)
    except (ValueError, UnicodeDecodeError):
        raise BadForm("The Authorization header is not valid Basic credentials.") from None
    return {"client_id": client_id or "", "client_secret": secret or ""}


async def _look_up(services: AuthServices, request: Request, form: dict[str, str]) -> Lookups:
    """Read the client(s) and the login this request names, before authlib runs."""
    basic_id, _ = extract_basic_authorization(request.headers)
    client_ids = {cid for cid in (basic_id, form.get("client_id")) if cid}
    username = form.get("username", "").strip() if form.get("grant_type") == "password" else ""
    if not client_ids and not username:
        return Lookups()

    async def look_up(connection: AsyncConnection) -> Lookups:
        clients = {}
        for client_id in client_ids:
            record = await accounts.oauth_client(connection, client_id)
            if record is not None:
                clients[client_id] = record
        candidates = await accounts.login_candidates(connection, username) if username else []
        return Lookups(clients=clients, candidates=tuple(candidates))

    return await services.database.reading(look_up)


async def jwks(request: Request) -> Response:
    # Short-lived caching: a rotation shows up within minutes.
    return JSONResponse(_services(request).keys.jwks(), headers={"Cache-Control": "public, max-age=300"})


async def metadata(request: Request) -> Response:
    services = _services(request)
    document: dict[str, Any] = {
        "issuer": services.endpoints.issuer,
        "token_endpoint": services.endpoints.token,
        "jwks_uri": services.endpoints.jwks,
        "grant_types_supported": list(GRANT_TYPES),
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "scopes_supported": sorted(ROLES),
        "response_types_supported": [],  # no authorization endpoint
    }
    return JSONResponse(document, headers={"Cache-Control": "public, max-age=300"})
