"""Parsing and validating documents under the limits, with one byte-bounded cache.

Every transport calls this one object (the strawberry extension in ``extension.py`` for
the standard way, ``schema/fastpath.py`` directly), so a document is refused the same way,
and parsed and validated once, whichever way it goes:

- a document over ``max_document_bytes`` is refused before the parser sees it;
- the parser stops at ``max_tokens`` (graphql-core counts while it reads), so a huge
  document costs the time of ``max_tokens`` tokens, not of its length;
- the limit rules run in a pass of their own before graphql-core's rules, so a document
  over a limit is refused after one cheap walk;
- parsed documents and their validation results share one LRU cache bounded by the sum of
  the documents' lengths (``cache.py``);
- a valid document may be registered under the SHA-256 of its text (persisted operations):
  the registration is its cache entry, so it is bounded and evicted with it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, GraphQLSyntaxError, parse, validate
from strawberry.schema.schema import validate_document

from app.errors import DocumentTooLarge, LimitExceeded, TooDeep, TooManyTokens
from schema.limits.bounds import DocumentLimits
from schema.limits.cache import ByteBoundedCache
from schema.limits.rules import LimitRule
from schema.limits.variables import check_variables

Rules = tuple[type[ASTValidationRule], ...]

# What graphql-core's parser says when it stops at ``max_tokens``.
_TOKEN_LIMIT_MESSAGE = "Document contains more than"


@dataclass
class _Cached:
    document: DocumentNode
    # Validation results by rule set (one in practice: the schema's).
    errors: dict[Rules, list[GraphQLError]] = field(default_factory=dict)
    # Registered under its SHA-256 (``Documents.register``); ``stored``: known to be one of
    # the stored operations, not only registered by a client.
    sha256: str | None = None
    stored: bool = False


@dataclass(frozen=True)
class Registered:
    """A document known by its hash: its text, and whether it is a stored operation."""

    text: str
    stored: bool


def document_hash(text: str) -> str:
    """The SHA-256 of a document's UTF-8 text, in lowercase hex: how persisted operations name it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Documents:
    def __init__(self, limits: DocumentLimits, rules: Rules) -> None:
        self.limits = limits
        # graphql-core's rules and the extra ones, in the order the standard way gets
        # them (specified rules, then those added with ``AddValidationRules``).
        self.rules = rules
        self.cache: ByteBoundedCache[_Cached] = ByteBoundedCache(limits.cache_bytes, on_evict=self._forget)
        # SHA-256 → text of the registered documents still in the cache (never more entries than it).
        self._texts_by_hash: dict[str, str] = {}

    def check_variables(self, variables: Mapping[str, Any] | None) -> None:
        """Refuse variables over the size or list-length limits (a ``GraphQLError`` with its code)."""
        try:
            check_variables(
                variables, max_bytes=self.limits.max_variables_bytes, max_list_length=self.limits.max_list_length
            )
        except LimitExceeded as refusal:
            raise _error(refusal) from None

    def parse(self, text: str) -> DocumentNode:
        """The document, parsed once; raises a ``GraphQLError`` for a document over a limit or
        with a syntax error."""
        cached = self.cache.get(text)
        if cached is not None:
            return cached.document
        self._check_size(text)
        document = self._parse(text)
        self.cache.put(text, _Cached(document))
        return document

    def validate(
        self, schema: GraphQLSchema, text: str | None, document: DocumentNode, rules: Rules
    ) -> list[GraphQLError]:
        """The validation errors of ``document`` (the text's own, when ``text`` is given)
        under ``rules``, the limit rules first."""
        cached = self.cache.get(text) if text is not None else None
        if cached is not None and cached.document is document and rules in cached.errors:
            return cached.errors[rules]
        limit_rules = tuple(rule for rule in rules if issubclass(rule, LimitRule))
        errors = validate(schema, document, limit_rules) if limit_rules else []
        if not errors:
            errors = validate_document(schema, document, tuple(r for r in rules if not issubclass(r, LimitRule)))
        if cached is not None and cached.document is document:
            cached.errors[rules] = errors
        return errors

    def registered(self, sha256: str) -> Registered | None:
        """The registered document with this hash, while the cache keeps it."""
        text = self._texts_by_hash.get(sha256)
        cached = self.cache.get(text) if text is not None else None
        if text is None or cached is None:
            return None
        return Registered(text, cached.stored)

    def register(self, schema: GraphQLSchema, text: str, *, stored: bool) -> bool:
        """Keep ``text`` findable by its SHA-256 when it parses and validates (under the
        limits); False when it does not, or is too large for the cache."""
        try:
            document = self.parse(text)
        except GraphQLError:
            return False
        if self.validate(schema, text, document, self.rules):
            return False
        cached = self.cache.get(text)
        if cached is None:
            return False
        cached.sha256 = cached.sha256 or document_hash(text)
        cached.stored = cached.stored or stored
        self._texts_by_hash[cached.sha256] = text
        return True

    def _forget(self, text: str, cached: _Cached) -> None:
        if cached.sha256 is not None:
            self._texts_by_hash.pop(cached.sha256, None)

    def _check_size(self, text: str) -> None:
        maximum = self.limits.max_document_bytes
        # UTF-8 takes 1 to 4 bytes a character: encode only when the length cannot tell.
        if len(text) > maximum or (len(text) * 4 > maximum and len(text.encode("utf-8", "surrogatepass")) > maximum):
            raise _error(
                DocumentTooLarge(
                    f"The document is longer than {maximum} bytes",
                    setting="BIZGRAPH_MAX_DOCUMENT_BYTES",
                    maximum=maximum,
                )
            )

    def _parse(self, text: str) -> DocumentNode:
        maximum = self.limits.max_tokens
        try:
            return parse(text, max_tokens=maximum)
        except GraphQLSyntaxError as error:
            if _TOKEN_LIMIT_MESSAGE not in error.message:
                raise
            refusal: LimitExceeded = TooManyTokens(
                f"The document has more than {maximum} tokens", setting="BIZGRAPH_MAX_TOKENS", maximum=maximum
            )
        except RecursionError:
            # graphql-core's parser recurses once per level of nesting: a document nested
            # deeper than Python's stack is far deeper than any depth limit.
            maximum = self.limits.max_depth
            refusal = TooDeep(
                "The document nests deeper than the parser follows", setting="BIZGRAPH_MAX_DEPTH", maximum=maximum
            )
        raise _error(refusal)


def _error(refusal: LimitExceeded) -> GraphQLError:
    return GraphQLError(refusal.message, original_error=refusal)


# graphql-core's schema carries a free-form ``extensions`` map for tools built around it:
# the fast path finds the schema's ``Documents`` there, with nothing else to pass along.
_KEY = "bizgraph.documents"


def attach_documents(schema: GraphQLSchema, documents: Documents) -> None:
    schema.extensions = {**(schema.extensions or {}), _KEY: documents}


def documents_of(schema: GraphQLSchema) -> Documents:
    documents = (schema.extensions or {}).get(_KEY)
    if not isinstance(documents, Documents):
        raise ValueError("the schema was not built by schema.build_schema: it has no document limits")
    return documents
