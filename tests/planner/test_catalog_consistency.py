"""The schema and the planner's catalog describe the same fields, filters and sorts."""

from __future__ import annotations

from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType

from resolvers.analytics.catalog import AGGREGATES
from resolvers.catalog import CATALOG
from schema import build_schema

SCHEMA = build_schema()._schema


def test_every_entity_field_is_planned():
    for name, entity in CATALOG.entities.items():
        graphql_type = SCHEMA.get_type(name)
        assert isinstance(graphql_type, GraphQLObjectType), name
        assert set(graphql_type.fields) == set(entity.fields), name


def test_every_filter_field_and_sort_value_is_planned():
    for name, entity in CATALOG.entities.items():
        filter_type = SCHEMA.get_type(f"{name}Filter")
        assert isinstance(filter_type, GraphQLInputObjectType), name
        assert set(filter_type.fields) - {"and", "or", "not"} == set(entity.filters), name
        sort_field = SCHEMA.get_type(f"{name}SortField")
        assert isinstance(sort_field, GraphQLEnumType), name
        assert set(sort_field.values) == set(entity.sorts), name


def test_every_aggregate_dimension_and_measure_is_planned():
    for name, spec in AGGREGATES.items():
        dimension = SCHEMA.get_type(f"{name}Dimension")
        assert set(dimension.values) == set(spec.dimensions), name
        measures = SCHEMA.get_type(f"{name}Measures")
        assert set(measures.fields) == set(spec.measures), name
        group = SCHEMA.get_type(f"{name}Group")
        keys = {d.key for d in spec.dimensions.values()} | {"bucket", "count", "sum", "avg", "min", "max"}
        assert set(group.fields) == keys, name
