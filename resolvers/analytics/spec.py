"""What analysts can aggregate: per entity, its measures, dimensions and time axis."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Join:
    """A to-one join the aggregate may need: ``{name}.id = {t}.<local>``."""

    entity: str
    local: str


@dataclass(frozen=True)
class Dimension:
    key: str  # the group's output field
    sql: str  # what rows are grouped by: a template over {t} (the aggregated row) and join names
    joins: tuple[str, ...] = ()
    target: str | None = None  # an entity: the key is that object, fetched by id
    # How a group's value is shown, over {v}: applied once per group after grouping, not once
    # per row, so it must tell apart whatever ``sql`` tells apart (``upper`` of the lowercase
    # names the tables' CHECK constraints allow does).
    presented: str = "{v}"


@dataclass(frozen=True)
class Measure:
    sql: str
    kind: Literal["decimal", "int"]
    joins: tuple[str, ...] = ()


@dataclass(frozen=True)
class Aggregate:
    entity: str
    time: str  # template of the time axis
    time_kind: Literal["datetime", "date"]
    measures: dict[str, Measure]
    dimensions: dict[str, Dimension]
    joins: dict[str, Join] = field(default_factory=dict)
    time_joins: tuple[str, ...] = ()
