"""The OAuth 2 token endpoint's core, on authlib's ``AuthorizationServer``.

Two grants:

- ``client_credentials`` for service clients (``bizgraph create-client``), which
  authenticate with ``client_secret_basic`` or ``client_secret_post``; the token's
  roles are the requested scopes, which must be among the client's, or all of
  the client's scopes when none are requested.
- ``password`` for people, through the public client ``bizgraph-dev`` (no secret):
  ``username`` is the email; ``organization`` (a slug) picks the organization when
  the same email and password sign in to several. ``scope`` may narrow the user's
  roles, never widen them. No refresh tokens: ask again.

authlib's core is synchronous and a password check takes a fifth of a second,
so ``TokenServer.respond`` runs in a worker thread. It never touches the
database: the caller reads the client and the login candidates first (async) and
hands them over with the request (``Lookups``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.authenticate_client import ClientAuthentication
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant, ResourceOwnerPasswordCredentialsGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload

from app.auth.passwords import spend_one_verification, verify_secret
from app.auth.principal import ROLES, SERVICE_ROLES
from app.auth.tokens import DEV_CLIENT_ID, TokenIssuer
from resolvers.accounts.store import LoginCandidate, ServiceClientRecord

GRANT_TYPES = ("client_credentials", "password")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")

Response = tuple[int, dict[str, Any], list[tuple[str, str]]]


@dataclass(frozen=True)
class Lookups:
    """What the database said about this request's client(s) and login, read before."""

    clients: Mapping[str, ServiceClientRecord] = field(default_factory=dict)
    candidates: tuple[LoginCandidate, ...] = ()


class ServiceClient(ClientMixin):  # type: ignore[misc]  # authlib is untyped
    """A confidential client: client credentials only, with its secret."""

    def __init__(self, record: ServiceClientRecord) -> None:
        self.record = record
        self.client_id = record.client_id

    def get_client_id(self) -> str:
        return self.client_id

    def check_client_secret(self, client_secret: str) -> bool:
        return verify_secret(self.record.secret_hash, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in ("client_secret_basic", "client_secret_post")

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


class UnknownClient(ServiceClient):
    """A client id nobody registered, answered exactly like a known client with a wrong
    secret (same error, same status, and a password check's worth of time), so the
    endpoint does not tell which client ids exist."""

    def __init__(self) -> None:
        self.client_id = ""

    def check_client_secret(self, client_secret: str) -> bool:
        spend_one_verification(client_secret)
        return False


class DevClient(ClientMixin):  # type: ignore[misc]  # authlib is untyped
    """The public development client: it holds no secret, so it may only pass a
    person's own credentials through (the password grant)."""

    client_id = DEV_CLIENT_ID

    def get_client_id(self) -> str:
        return self.client_id

    def check_client_secret(self, client_secret: str) -> bool:
        return False

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method == "none"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "password"


class TokenRequest(OAuth2Request):  # type: ignore[misc]  # authlib is untyped
    """A token request already read off the wire: its form and headers, and the lookups."""

    def __init__(self, uri: str, headers: Mapping[str, str], form: dict[str, str], lookups: Lookups) -> None:
        super().__init__("POST", uri, headers=headers)
        self.payload = BasicOAuth2Payload(form)
        self.lookups = lookups
        self._form = form

    @property
    def form(self) -> dict[str, str]:
        return self._form

    @property
    def args(self) -> dict[str, str]:
        return {}

    def client_named(self, client_id: str) -> ClientMixin:
        if client_id == DEV_CLIENT_ID:
            return DevClient()
        record = self.lookups.clients.get(client_id)
        return UnknownClient() if record is None else ServiceClient(record)


class ServiceGrant(ClientCredentialsGrant):  # type: ignore[misc]  # authlib is untyped
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post"]

    def validate_requested_scope(self) -> None:
        super().validate_requested_scope()
        requested = set((self.request.payload.scope or "").split())
        if not requested <= self.client.record.scopes:
            raise InvalidScopeError("The requested scope exceeds the client's scopes.")


class PasswordGrant(ResourceOwnerPasswordCredentialsGrant):  # type: ignore[misc]  # authlib is untyped
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post", "none"]

    def authenticate_user(self, username: str, password: str) -> LoginCandidate:
        request: TokenRequest = self.request  # authlib's grants hold the request TokenServer was given
        wanted_org = request.form.get("organization")
        candidates = [c for c in request.lookups.candidates if wanted_org in (None, c.org_slug)]
        if not candidates:
            spend_one_verification(password)  # unknown and known emails take as long
            raise InvalidGrantError("Wrong email or password.")
        matches = [c for c in candidates if verify_secret(c.password_hash, password)]
        if not matches:
            raise InvalidGrantError("Wrong email or password.")
        if len(matches) > 1:
            raise InvalidRequestError(
                "This email signs in to several organizations: add organization=<slug> to the request."
            )
        return matches[0]

    def validate_requested_scope(self) -> None:
        super().validate_requested_scope()
        requested = set((self.request.payload.scope or "").split())
        if not requested <= self.request.user.roles:
            raise InvalidScopeError("The requested scope exceeds the user's roles.")


class TokenServer(AuthorizationServer):  # type: ignore[misc]  # authlib is untyped
    def __init__(self, issuer: TokenIssuer) -> None:
        super().__init__(scopes_supported=sorted(ROLES))
        self.issuer = issuer
        self.register_grant(ServiceGrant)
        self.register_grant(PasswordGrant)
        self.register_token_generator("default", self._generate)

    def respond(self, request: TokenRequest) -> Response:
        """Answer a token request: (status, JSON body, headers)."""
        response: Response = self.create_token_response(request)  # what handle_response below made
        return response

    def create_oauth2_request(self, request: TokenRequest) -> TokenRequest:
        return request

    def authenticate_client(self, request: TokenRequest, methods: list[str], endpoint: str = "token") -> ClientMixin:
        # authlib's own client authentication methods, looking clients up among the
        # records read for this request rather than in a shared ``query_client``.
        return ClientAuthentication(request.client_named)(request, methods, endpoint)

    def query_client(self, client_id: str) -> None:
        raise RuntimeError("clients are looked up per request (TokenRequest.client_named)")

    def save_token(self, token: dict[str, Any], request: TokenRequest) -> None:
        pass  # self-contained JWTs: nothing to store

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass

    def handle_response(self, status: int, body: dict[str, Any], headers: list[tuple[str, str]]) -> Response:
        return status, body, headers

    def _generate(
        self,
        grant_type: str,
        client: ClientMixin,
        user: LoginCandidate | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        requested = frozenset((scope or "").split())
        if isinstance(client, ServiceClient):
            record = client.record
            granted = (requested or record.scopes) & SERVICE_ROLES
            token = self.issuer.for_client(
                client_id=record.client_id, org_id=record.org_id, org_slug=record.org_slug, scopes=granted
            )
        else:
            assert user is not None  # the password grant authenticated one
            token = self.issuer.for_user(
                user_id=user.user_id,
                email=user.email,
                org_id=user.org_id,
                org_slug=user.org_slug,
                roles=requested or user.roles,
                client_id=client.get_client_id(),
                employee_id=user.employee_id,
                customer_id=user.customer_id,
            )
        return token.as_response()
