"""The schema and the planner's catalog describe the same fields, relations, filters and sorts.

An entity's fields are declared twice, as a strawberry type and in the catalog;
its filter and sort inputs are derived from the catalog (schema/derived_inputs.py),
so for them this only guards that the schema uses the derived inputs.
"""

from __future__ import annotations

from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType, get_named_type

from resolvers.analytics.catalog import AGGREGATES
from resolvers.catalog import CATALOG
from resolvers.planner.catalog import ToMany, ToOne
from schema import build_schema
from tests.support.graphql import sql

SCHEMA = build_schema()._schema


def test_every_entity_field_is_planned():
    for name, entity in CATALOG.entities.items():
        graphql_type = SCHEMA.get_type(name)
        assert isinstance(graphql_type, GraphQLObjectType), name
        assert set(graphql_type.fields) == set(entity.fields), name


def test_every_relation_leads_to_the_type_the_schema_returns():
    for name, entity in CATALOG.entities.items():
        graphql_type = SCHEMA.get_type(name)
        assert isinstance(graphql_type, GraphQLObjectType), name
        for key, field in entity.fields.items():
            returns = get_named_type(graphql_type.fields[key].type).name
            if isinstance(field, ToOne):
                assert returns == field.target, f"{name}.{key}"
            if isinstance(field, ToMany):
                assert returns == f"{field.target}Connection", f"{name}.{key}"


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


def test_every_declared_unique_key_is_a_unique_constraint_of_not_null_columns(seeded_url):
    """The planner drops the id tiebreaker from a nested list's ORDER BY where an entity's
    ``unique_keys`` say it repeats an order that is already total: only the database's own
    constraints may say so, or rows that tie would come out in no set order."""
    constraints = {
        (table, tuple(sorted(columns)))
        for table, columns in sql(
            seeded_url,
            """SELECT c.conrelid::regclass::text, array_agg(a.attname::text)
               FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
               WHERE c.contype IN ('u', 'p') GROUP BY c.oid, c.conrelid""",
        )
    }
    nullable = set(
        sql(seeded_url, "SELECT table_name, column_name FROM information_schema.columns WHERE is_nullable = 'YES'")
    )
    declared = [(entity.table, key) for entity in CATALOG.entities.values() for key in entity.unique_keys]
    assert declared  # order lines are unique by line number within their order
    for table, key in declared:
        assert (table, tuple(sorted(key))) in constraints, (table, key)
        assert not {(table, column) for column in key} & nullable, (table, key)
