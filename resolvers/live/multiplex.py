"""Many executions of one statement that differ only in their parameters, as one statement.

Live queries of one document differ only in their variables and in the principal's scope
parameters (the customer, the employee): their plans are one statement text with different
parameters. Rather than run it once per subscriber group, the parameter sets travel as one
JSON array, and the statement runs once per element inside a single statement::

    SELECT m.i, r.* FROM ROWS FROM (jsonb_to_recordset(<array>) AS (<each parameter and its type>))
        WITH ORDINALITY AS m(<parameters>, i)
    LEFT JOIN LATERAL (<the statement, each parameter read as m's column>) AS r ON true

Each parameter is sent as the text psycopg would send and becomes a column of the type
PostgreSQL resolved for it in the statement itself (``shapes.py``), so each element answers
exactly what the statement answers alone; an element whose statement finds no row gets NULLs,
as ``fetch_value`` answers None.

The values are converted in ``FROM``, never inside the statement: under row-level security
PostgreSQL may not evaluate a function that is not leakproof (a cast from text, ``->>``)
before the policy's own condition, so a cast inside the statement would keep every index on
it out of use (measured: ~10 ms per element instead of ~0.04 ms); a column of the right type
is a plain parameter to the statement, as its own execution's are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from resolvers.wire import PLACEHOLDER

# Names no planned statement uses (the planner's aliases are short and lower-case).
_ROW = "bizgraph_mx"
_ANSWER = "bizgraph_mx_answer"
_ARRAY_PARAMETER = "bizgraph_mx_parameters"
_ORDINAL = "bizgraph_mx_ordinal"


def multiplexed(sql: str, parameter_types: Mapping[str, str]) -> str:
    """The statement that runs ``sql`` once per element of its one parameter, a JSON array
    of parameter sets (``parameter_sets``); rows come as (element number from 1, the
    statement's columns …), in element order."""

    def read_parameter(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "%%"
        return f'{_ROW}."{name}"'

    body = PLACEHOLDER.sub(read_parameter, sql)
    columns = ", ".join(f'"{name}" {kind}' for name, kind in parameter_types.items())
    names = ", ".join(f'"{name}"' for name in parameter_types)
    return (
        f"SELECT {_ROW}.{_ORDINAL}, {_ANSWER}.* FROM ROWS FROM (jsonb_to_recordset(%({_ARRAY_PARAMETER})s::jsonb)"
        f" AS ({columns})) WITH ORDINALITY AS {_ROW}({names}, {_ORDINAL})"
        f" LEFT JOIN LATERAL ({body}) AS {_ANSWER} ON true ORDER BY {_ROW}.{_ORDINAL}"
    )


def parameter_sets(texts: Sequence[Mapping[str, str | None]]) -> dict[str, Any]:
    """The multiplexed statement's one parameter, from each execution's parameters as text."""
    return {_ARRAY_PARAMETER: orjson.dumps(list(texts)).decode()}


def first_values(rows: Sequence[tuple[Any, ...]], count: int) -> list[Any]:
    """Per element, the first column of its first row (None when it had none), as
    ``fetch_value`` answers for the statement alone."""
    values: list[Any] = [None] * count
    seen: set[int] = set()
    for row in rows:
        index = int(row[0]) - 1
        if index not in seen:
            seen.add(index)
            values[index] = row[1] if len(row) > 1 else None
    return values
