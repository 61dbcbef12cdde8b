"""A request's operation, made ready once: parsed and validated under the limits (through the
schema's cached ``Documents``), the operation picked by name, its fragments and its coerced
variables. The cost gate and the fast path both work from it, so a request pays for this once.

``None`` means the operation will not run as sent (a limit, a syntax or validation error,
bad variables, no single operation): the standard way then answers it with its errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
)
from graphql.execution.values import get_variable_values

from app.tracing import RequestTrace
from app.tracing.spans import PARSE, VALIDATE
from schema.limits.parsing import Documents, documents_of


@dataclass(frozen=True)
class PreparedOperation:
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    variables: dict[str, Any]  # coerced to their declared types
    # As the client sent them: what executing the document again (a live query's re-run) takes.
    sent_variables: Mapping[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The whole document the operation came in."""
        location = self.operation.loc
        if location is None:  # documents are parsed with their locations (schema/limits/parsing.py)
            raise ValueError("the operation was parsed without its source")
        return location.source.body

    @property
    def kind(self) -> OperationType:
        return self.operation.operation


def prepare_operation(
    schema: GraphQLSchema,
    query: str | None,
    variables: Mapping[str, Any] | None,
    operation_name: str | None,
    *,
    trace: RequestTrace | None = None,
) -> PreparedOperation | None:
    """``trace``: a sampled request's spans, which get one for parsing and one for validating."""
    if not query:
        return None
    documents = documents_of(schema)
    try:
        documents.check_variables(variables)
        document = documents.parse(query) if trace is None else _traced_parse(documents, query, trace)
    except GraphQLError:
        return None
    if trace is None:
        invalid = documents.validate(schema, query, document, documents.rules)
    else:
        invalid = _traced_validate(schema, documents, query, document, trace)
    if invalid:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1:
        return None
    operation = operations[0]
    coerced = get_variable_values(schema, operation.variable_definitions or (), dict(variables or {}))
    if isinstance(coerced, list):  # variable errors: reported the standard way
        return None
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    return PreparedOperation(operation, fragments, coerced.coerced, dict(variables or {}))


def _traced_parse(documents: Documents, query: str, trace: RequestTrace) -> DocumentNode:
    with trace.phase(PARSE):
        return documents.parse(query)


def _traced_validate(
    schema: GraphQLSchema, documents: Documents, query: str, document: DocumentNode, trace: RequestTrace
) -> list[GraphQLError]:
    with trace.phase(VALIDATE) as span:
        errors = documents.validate(schema, query, document, documents.rules)
        if errors:
            # How many, not what they say: messages may quote the document's values.
            trace.refused(span, "invalid document", {"bizgraph.validation_errors": len(errors)})
        return errors
