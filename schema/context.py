"""The per-operation context every field function sees."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from resolvers.reads import ReadService
from resolvers.transaction import RequestTransaction


@dataclass
class Context:
    reads: ReadService
    transaction: RequestTransaction
    request: Any = None
    response: Any = None
    request_id: str = "-"


def reads(info: Any) -> ReadService:
    return info.context.reads
