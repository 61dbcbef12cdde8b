"""The standard way's parsing and validation, under the limits (``parsing.Documents``).

Replaces strawberry's ``ParserCache`` and ``ValidationCache``: it sets the parsed document
before strawberry would parse it (without limits) and the validation errors before
strawberry would validate, from the same byte-bounded cache the fast path uses. Every
transport that executes through the schema (HTTP now, WebSocket and SSE later) goes
through it.
"""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from schema.limits.parsing import Documents


class DocumentLimitsExtension(SchemaExtension):
    def __init__(self, documents: Documents) -> None:
        super().__init__()
        self.documents = documents

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        self.documents.check_variables(context.variables)
        if context.query and context.graphql_document is None:
            context.graphql_document = self.documents.parse(context.query)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None and context.pre_execution_errors is None:
            context.pre_execution_errors = self.documents.validate(
                context.schema._schema, context.query, context.graphql_document, context.validation_rules
            )
        yield
