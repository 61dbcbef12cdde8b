"""The request's variables: their size as JSON and the length of every list in them.

Checked on the decoded values, with a stack of its own (no recursion): the size counts what
the variables would take as compact JSON, and the walk stops as soon as either limit is
passed, so a huge value costs no more than the limit to refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.errors import VariablesTooLarge
from schema.limits.lists import list_too_long


def check_variables(variables: Mapping[str, Any] | None, *, max_bytes: int, max_list_length: int) -> None:
    if not variables:
        return
    size = 2  # {}
    pending: list[tuple[list[str], Any]] = []
    for name, value in variables.items():
        size += _text_bytes(name) + 3  # "name":
        pending.append(([f"${name}"], value))
    while pending:
        path, value = pending.pop()
        if isinstance(value, Mapping):
            size += 2
            for key, item in value.items():
                size += _text_bytes(str(key)) + 3
                pending.append(([*path, str(key)], item))
        elif isinstance(value, list):
            if len(value) > max_list_length:
                raise list_too_long(path, max_list_length)
            size += 2 + len(value)
            pending.extend((path, item) for item in value)
        elif isinstance(value, str):
            size += _text_bytes(value) + 2
        else:
            size += 4 if value is None else len(str(value))
        if size > max_bytes:
            raise VariablesTooLarge(
                f"The variables take more than {max_bytes} bytes as JSON",
                setting="BIZGRAPH_MAX_VARIABLES_BYTES",
                maximum=max_bytes,
            )


def _text_bytes(text: str) -> int:
    # Lone surrogates cannot be encoded; they are refused later, but still weigh here.
    return len(text.encode("utf-8", "surrogatepass"))
