"""Persisted operations at the edge: which stored document a request names, and the text it runs.

A request names a document by the SHA-256 of its text, in one of two ways:

- Apollo's automatic persisted queries: ``extensions.persistedQuery`` =
  ``{"version": 1, "sha256Hash": "<hex>"}`` (in a JSON body, or as the ``extensions``
  query parameter of a GET);
- the Relay convention: ``documentId`` (optionally ``sha256:<hex>``, as the GraphQL
  over HTTP persisted documents proposal writes it) or ``id``.

``PersistedOperations.resolve`` turns the name into the document's text:

- for a principal whose roles are all in BIZGRAPH_PERSISTED_ONLY_ROLES, only the stored
  operations (the table of ``bizgraph operations push``) count; anything else is
  ``PERSISTED_QUERY_REQUIRED``;
- everyone else may also register a document by sending its hash with its ``query``
  (``PERSISTED_QUERY_HASH_MISMATCH`` when the hash is not the text's), and later send the
  hash alone (``PERSISTED_QUERY_NOT_FOUND`` when the server does not know it: Apollo's
  clients then send it again with the query).

Registrations live in the schema's byte-bounded document cache, never in the database, so
no client can fill either; a document found by its hash is parsed and validated once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from graphql import GraphQLSchema
from strawberry.http import GraphQLRequestData

from app.auth.principal import Principal
from app.db import Database
from app.errors import BadRequest, PersistedQueryHashMismatch, PersistedQueryNotFound, PersistedQueryRequired
from resolvers.operations import find_document
from schema.limits.parsing import Documents, document_hash

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
APQ_VERSION = 1


@dataclass
class PersistedRequestData(GraphQLRequestData):
    """A request with the SHA-256 of the stored document it names, if it names one."""

    sha256: str | None = None


def with_persisted_reference(data: GraphQLRequestData, raw: Mapping[str, object]) -> GraphQLRequestData:
    """``data`` carrying the hash the request names (``raw``: its JSON body or query
    parameters), or ``BadRequest`` when the name is malformed or two names disagree."""
    names = {_apq_hash(data.extensions), _document_id(raw, "documentId"), _document_id(raw, "id")} - {None}
    if not names:
        return data
    if len(names) > 1:
        raise BadRequest("the request names two different persisted documents")
    return PersistedRequestData(
        query=data.query,
        variables=data.variables,
        operation_name=data.operation_name,
        extensions=data.extensions,
        protocol=data.protocol,
        sha256=names.pop(),
    )


def names_a_document(params: Mapping[str, object]) -> bool:
    """Whether query parameters name a persisted document (rather than ask for the IDE)."""
    return any(key in params for key in ("extensions", "documentId", "id"))


def _apq_hash(extensions: Mapping[str, object] | None) -> str | None:
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, Mapping):
        raise BadRequest("`extensions.persistedQuery` must be an object")
    if persisted.get("version") != APQ_VERSION:
        raise BadRequest(f"`extensions.persistedQuery.version` must be {APQ_VERSION}")
    return _hex(persisted.get("sha256Hash"), "extensions.persistedQuery.sha256Hash")


def _document_id(raw: Mapping[str, object], key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, str) and value.startswith("sha256:"):
        value = value.removeprefix("sha256:")
    return _hex(value, key)


def _hex(value: object, where: str) -> str:
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        raise BadRequest(f"`{where}` must be a SHA-256 in hexadecimal (64 digits)")
    return value.lower()


class PersistedOperations:
    def __init__(self, schema: GraphQLSchema, documents: Documents, only_roles: frozenset[str]) -> None:
        self.schema = schema
        self.documents = documents
        self.only_roles = only_roles
        # Documents named by hash alone, found or not (app/http/metrics.py).
        self.lookups = {"hit": 0, "miss": 0}

    def restricted(self, principal: Principal) -> bool:
        """Whether the principal may run stored operations only (all its roles are in the set)."""
        return bool(self.only_roles) and principal.roles <= self.only_roles

    async def resolve(self, data: GraphQLRequestData, principal: Principal, database: Database) -> GraphQLRequestData:
        """The request with the text of the document it names; raises the refusals above."""
        sha256 = data.sha256 if isinstance(data, PersistedRequestData) else None
        restricted = self.restricted(principal)
        if sha256 is None:
            if restricted:
                raise PersistedQueryRequired(
                    "your roles may only run stored operations: send `extensions.persistedQuery` or `documentId`"
                )
            return data
        if data.query is not None:
            if document_hash(data.query) != sha256:
                raise PersistedQueryHashMismatch("the hash sent is not the SHA-256 of the query sent")
            if restricted:
                if await self._find(sha256, database, stored_only=True) is None:
                    raise PersistedQueryRequired("your roles may only run stored operations, and this one is not")
            else:
                # Kept only when it parses and validates; the request goes on either way.
                self.documents.register(self.schema, data.query, stored=False)
            return data
        text = await self._find(sha256, database, stored_only=restricted)
        # A document named by its hash alone: found (in the cache or stored) or not.
        self.lookups["hit" if text is not None else "miss"] += 1
        if text is None:
            raise PersistedQueryNotFound()
        return replace(data, query=text)

    async def _find(self, sha256: str, database: Database, *, stored_only: bool) -> str | None:
        known = self.documents.registered(sha256)
        if known is not None and (known.stored or not stored_only):
            return known.text
        text = await find_document(database, sha256)
        if text is not None:
            self.documents.register(self.schema, text, stored=True)
        return text
