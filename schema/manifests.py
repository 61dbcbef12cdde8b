"""Persisted-query manifests, read and checked against the schema before anything is stored.

Two formats are read (``bizgraph operations push``):

- Relay's: ``{"<id>": "<document>", ...}``;
- Apollo's: ``{"format": "apollo-persisted-query-manifest", "version": 1,
  "operations": [{"id", "name", "type", "body"}, ...]}``.

Every id must be the SHA-256 of its document (the key the server finds it by), every
document must define exactly one operation (what both formats describe), and it must
pass the same limits and validation as a request. One bad entry refuses the manifest.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import GraphQLError, GraphQLSchema, OperationDefinitionNode

from app.errors import BadUserInput
from resolvers.operations import Operation
from schema.limits.parsing import Documents, document_hash

APOLLO_FORMAT = "apollo-persisted-query-manifest"


@dataclass(frozen=True)
class _Entry:
    id: str
    body: str
    # Declared by Apollo's format; checked against the document.
    name: str | None = None
    type: str | None = None


def read_manifest(manifest: object) -> list[_Entry]:
    """The entries of a parsed manifest file, or ``BadUserInput`` saying what is wrong."""
    if not isinstance(manifest, dict):
        raise BadUserInput("a manifest is a JSON object")
    if manifest.get("format") == APOLLO_FORMAT:
        return _apollo_entries(manifest)
    entries = []
    for key, body in manifest.items():
        if not isinstance(body, str):
            raise BadUserInput(f"operation {key}: a Relay manifest maps ids to document strings")
        entries.append(_Entry(key, body))
    return entries


def _apollo_entries(manifest: dict[object, object]) -> list[_Entry]:
    if manifest.get("version") != 1:
        raise BadUserInput(f"{APOLLO_FORMAT}: only version 1 is known, got {manifest.get('version')!r}")
    operations = manifest.get("operations")
    if not isinstance(operations, list):
        raise BadUserInput(f"{APOLLO_FORMAT}: `operations` must be a list")
    entries = []
    for position, item in enumerate(operations):
        fields = item if isinstance(item, dict) else {}
        id_, body, name, kind = (fields.get(key) for key in ("id", "body", "name", "type"))
        if not (isinstance(id_, str) and isinstance(body, str) and isinstance(name, str) and isinstance(kind, str)):
            raise BadUserInput(f"operation #{position + 1}: needs the strings id, name, type and body")
        entries.append(_Entry(id_, body, name, kind))
    return entries


def check_operations(schema: GraphQLSchema, documents: Documents, entries: list[_Entry]) -> list[Operation]:
    """Each entry as an ``Operation`` to store, or ``BadUserInput`` listing every entry that
    cannot be (wrong id, not exactly one operation, over a limit, not valid)."""
    problems: list[str] = []
    operations: list[Operation] = []
    for entry in entries:
        try:
            operations.append(_checked(schema, documents, entry))
        except _Unfit as unfit:
            problems.append(f"operation {entry.id}: {unfit}")
    if problems:
        raise BadUserInput("nothing stored:\n  " + "\n  ".join(problems))
    return operations


class _Unfit(Exception):
    pass


def _checked(schema: GraphQLSchema, documents: Documents, entry: _Entry) -> Operation:
    sha256 = document_hash(entry.body)
    if entry.id.lower() != sha256:
        raise _Unfit(f"the id is not the SHA-256 of the document (that is {sha256})")
    try:
        document = documents.parse(entry.body)
    except GraphQLError as error:
        raise _Unfit(error.message) from None
    errors = documents.validate(schema, entry.body, document, documents.rules)
    if errors:
        raise _Unfit("; ".join(error.message for error in errors))
    definitions = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(definitions) != 1:
        raise _Unfit(f"a stored document defines exactly one operation, this one {len(definitions)}")
    name = definitions[0].name.value if definitions[0].name else None
    kind = definitions[0].operation.value
    if entry.type is not None and (entry.name != (name or "") or entry.type != kind):
        raise _Unfit(f"the manifest says {entry.type} {entry.name!r}, the document is {kind} {name!r}")
    return Operation(sha256=sha256, document=entry.body, name=name, type=kind)
