"""Each entity's filter and sort inputs, derived from its entry in the planner's catalog.

An entity's ``filters`` become the fields of ``<Entity>Filter`` (followed by
``and``, ``or`` and ``not``) and its ``sorts`` the values of ``<Entity>SortField``,
which ``<Entity>Sort``, one key of ``orderBy``, pairs with a direction. The
descriptions are the catalog's plain words, so a column becomes filterable or
sortable by one entry in ``resolvers/<domain>/catalog.py``.

What only the schema knows comes from the entity's object type: an enum column
is filtered with the enum of the object's field of the same name, and a
relation with the filter input of the type that field returns, which lives in
the ``inputs`` module beside that type's ``types`` module.
"""

from __future__ import annotations

import enum
import importlib.util
import keyword
import re
from collections.abc import Callable
from types import GenericAlias
from typing import Any, TypeVar

import strawberry
from strawberry import UNSET
from strawberry.types import get_object_definition
from strawberry.types.base import StrawberryOptional
from strawberry.types.enum import StrawberryEnumDefinition

from resolvers.planner.catalog import Column, Entity, ForeignId, ToOne, Wording
from schema.filters import SCALAR_FILTERS, IDFilter, enum_filter
from schema.pagination import SortDirection

FilterInput = TypeVar("FilterInput")

# What a filter field takes: an operator input, the filter itself or a list of
# it (``and``/``or``/``not``), or a related type's filter, resolved when the schema is built.
Condition = type | GenericAlias | strawberry.LazyType[str, str]


def filter_input(entity: Entity, object_type: type) -> Callable[[type[FilterInput]], type[FilterInput]]:
    """Makes the decorated class, named ``<Entity>Filter``, the input of ``filter`` arguments on the entity."""

    def derive(cls: type[FilterInput]) -> type[FilterInput]:
        if cls.__name__ != f"{entity.name}Filter":
            raise TypeError(f"the filter input of {entity.name} is named {entity.name}Filter, not {cls.__name__}")
        if get_object_definition(object_type, strict=True).name != entity.name:
            raise TypeError(f"{cls.__name__} takes its enums and relations from {entity.name}, not {object_type!r}")
        fields: list[tuple[str, Condition, str]] = [
            (key, _condition(entity, key, target, object_type), _described(entity, key, target))
            for key, target in entity.filters.items()
        ]
        fields += [
            ("and", GenericAlias(list, (cls,)), "All of."),
            ("or", GenericAlias(list, (cls,)), "Any of."),
            ("not", cls, "Not this."),
        ]
        annotations: dict[str, object] = {}
        for name, condition, description in fields:
            python_name = _python_name(name)
            annotations[python_name] = condition | None
            setattr(cls, python_name, strawberry.field(name=name, default=UNSET, description=description))
        cls.__annotations__ = annotations
        plural = _wording(entity).plural
        return strawberry.input(cls, description=f"Conditions on {plural}; all given fields must hold.")

    return derive


def sort_inputs(entity: Entity) -> tuple[type[enum.Enum], type]:
    """``<Entity>SortField``, the entity's sorts, and ``<Entity>Sort``, one key of ``orderBy``."""
    wording = _wording(entity)
    # mypy models Enum's functional form only with a literal name.
    values = enum.Enum(f"{entity.name}SortField", {value: value for value in entity.sorts})  # type: ignore[misc]
    sort_field: type[enum.Enum] = strawberry.enum(
        values, description=wording.sort_fields or f"Fields {wording.plural} can be sorted by."
    )
    namespace: dict[str, Any] = {
        "__annotations__": {"field": sort_field, "direction": SortDirection},
        "field": strawberry.field(description="What to sort by."),
        # A key without a direction sorts the way the entity's rows come by default (audit entries: newest first).
        "direction": strawberry.field(
            default=SortDirection(entity.default_sort[1]), description="Ascending or descending."
        ),
    }
    description = wording.sort_key or f"One sort key for {wording.plural}; ties are broken by ID."
    return sort_field, strawberry.input(type(f"{entity.name}Sort", (), namespace), description=description)


def _condition(entity: Entity, key: str, target: Column | ForeignId | ToOne, object_type: type) -> Condition:
    if isinstance(target, ForeignId):
        return IDFilter
    if isinstance(target, ToOne):
        return _related_filter(entity, key, target, _field_type(object_type, key))
    if target.kind == "enum":
        enum_type = _field_type(object_type, key)
        if not isinstance(enum_type, StrawberryEnumDefinition):
            raise TypeError(f"{entity.name}.{key} is filtered as an enum, but the field is of type {enum_type!r}")
        return enum_filter(enum_type.wrapped_cls)
    if target.kind not in SCALAR_FILTERS:
        raise TypeError(f"{entity.name}.{key}: a {target.kind} column cannot be filtered")
    return SCALAR_FILTERS[target.kind]


def _related_filter(entity: Entity, key: str, relation: ToOne, related: object) -> strawberry.LazyType[str, str]:
    """``<Target>Filter`` in the inputs module beside the related type, resolved when the schema is built."""
    if isinstance(related, strawberry.LazyType):
        name = related.type_name
        module = importlib.util.resolve_name(related.module, related.package) if related.package else related.module
    elif isinstance(related, type) and (definition := get_object_definition(related)) is not None:
        name, module = definition.name, related.__module__
    else:
        raise TypeError(f"{entity.name}.{key} is filtered as a relation, but the field is of type {related!r}")
    if name != relation.target:
        raise TypeError(f"{entity.name}.{key} relates to {relation.target} in the catalog, to {name} in the schema")
    return strawberry.LazyType(f"{name}Filter", module.rpartition(".")[0] + ".inputs")


def _field_type(object_type: type, key: str) -> object:
    """The type of the object type's field ``key``, null or not."""
    definition = get_object_definition(object_type, strict=True)
    for field in definition.fields:
        if field.python_name == _python_name(key):
            field_type = field.type
            return field_type.of_type if isinstance(field_type, StrawberryOptional) else field_type
    raise TypeError(f"{definition.name} has no field {key!r}: its filter cannot tell the field's type")


def _described(entity: Entity, key: str, target: Column | ForeignId | ToOne) -> str:
    if not target.description:
        raise ValueError(f"the catalog gives no description for the {entity.name} filter {key!r}")
    return target.description


def _wording(entity: Entity) -> Wording:
    if entity.wording is None:
        raise ValueError(f"the catalog gives no wording for {entity.name}'s filter and sort inputs")
    return entity.wording


def _python_name(name: str) -> str:
    """``placedAt`` → ``placed_at``, ``and`` → ``and_``: the attribute of the input object."""
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
    return snake + "_" if keyword.iskeyword(snake) else snake
