"""Operation-scoped resources."""

from __future__ import annotations

from typing import AsyncIterator

from strawberry.extensions import SchemaExtension


class CloseTransaction(SchemaExtension):
    """Ends the operation's database transaction once the result is built."""

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        transaction = getattr(self.execution_context.context, "transaction", None)
        if transaction is not None:
            await transaction.close()
