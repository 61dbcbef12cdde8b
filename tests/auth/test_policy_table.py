"""The policy table is consistent with the schema, the catalog and the scope SQL."""

from __future__ import annotations

import pytest
from graphql import GraphQLNonNull, GraphQLObjectType, get_named_type

from app.auth import policy
from app.auth.access import field_access, row_scopes
from app.auth.principal import ROLES
from resolvers.catalog import CATALOG
from resolvers.planner.access import SCOPE_SQL
from resolvers.planner.catalog import Embedded, ToOne
from schema import build_schema

SCHEMA = build_schema()._schema


def _scopes_used():
    for type_name, table in policy.ROWS.items():
        for role, scope in table.items():
            yield type_name, role, scope
    for type_name, table in policy.AGGREGATES.items():
        for role, scope in table.items():
            yield type_name, role, scope
    for type_name, fields in policy.FIELDS.items():
        for rule in fields.values():
            for role, scope in rule.items():
                if scope == policy.SAME_ROWS:
                    scope = policy.ROWS[type_name].get(role)
                    assert scope is not None, f"{type_name}: {role} reads a field on rows it cannot see"
                yield type_name, role, scope


def test_every_entity_has_a_row_rule():
    assert set(policy.ROWS) == set(CATALOG.entities)


def test_roles_and_scopes_are_known_and_compile_to_sql():
    for type_name, role, scope in _scopes_used():
        assert role in ROLES, role
        assert scope in policy.SCOPES, scope
        if scope != policy.ALL:
            assert type_name in SCOPE_SQL[scope], f"no SQL for {scope} on {type_name}"


def test_sensitive_fields_exist_and_are_nullable():
    """A field that may be withheld resolves to null, so the schema must allow it."""
    for type_name, fields in policy.FIELDS.items():
        graphql_type = SCHEMA.get_type(type_name)
        assert isinstance(graphql_type, GraphQLObjectType)
        for name in fields:
            assert name in CATALOG[type_name].fields, f"{type_name}.{name} is not a planned field"
            assert not isinstance(graphql_type.fields[name].type, GraphQLNonNull), (
                f"{type_name}.{name} must be nullable"
            )


def _covers(target: str, role: str, source_scope: str) -> bool:
    target_scope = policy.ROWS.get(target, {}).get(role)
    return target_scope == policy.ALL or target_scope == source_scope


def test_non_null_relations_never_point_at_hidden_rows():
    """A non-null to-one relation is safe only if every role that sees the row
    also sees the related row; otherwise it must be nullable."""
    for type_name, entity in CATALOG.entities.items():
        graphql_type = SCHEMA.get_type(type_name)
        for name, field in entity.fields.items():
            if not isinstance(field, ToOne) or not isinstance(graphql_type.fields[name].type, GraphQLNonNull):
                continue
            for role, scope in policy.ROWS[type_name].items():
                assert _covers(field.target, role, scope), (
                    f"{type_name}.{name} is non-null but {role} may see the {type_name} ({scope})"
                    f" and not its {field.target}"
                )


def test_embedded_objects_follow_their_field_rule():
    for type_name, fields in policy.FIELDS.items():
        for name in fields:
            field = CATALOG[type_name].fields[name]
            if isinstance(field, Embedded):
                assert get_named_type(SCHEMA.get_type(type_name).fields[name].type).name == field.type_name


@pytest.mark.parametrize(
    "roles, type_name, field, expected",
    [
        ({"admin"}, "Employee", "salary", "allowed"),
        ({"hr"}, "Employee", "salary", "allowed"),
        ({"finance"}, "Employee", "salary", "denied"),
        ({"analyst"}, "Employee", "salary", "denied"),
        ({"employee"}, "Employee", "salary", "some rows"),
        ({"manager", "employee"}, "Employee", "salary", "some rows"),
        ({"sales"}, "Customer", "email", "allowed"),  # its own accounts are all it sees
        ({"sales", "analyst"}, "Customer", "email", "some rows"),  # analysts see every customer, not their emails
        ({"analyst"}, "Customer", "email", "denied"),
        ({"customer"}, "Customer", "taxId", "allowed"),
        ({"sales"}, "Customer", "taxId", "denied"),
        ({"finance"}, "Customer", "creditLimit", "allowed"),
        ({"analyst"}, "Employee", "fullName", "allowed"),
    ],
)
def test_decisions_add_up_across_roles(roles, type_name, field, expected):
    assert field_access(type_name, field, frozenset(roles)).kind == expected


def test_a_role_without_a_rule_sees_no_rows():
    assert row_scopes("Employee", frozenset({"customer"})) == frozenset()
    assert row_scopes("Customer", frozenset({"hr"})) == frozenset()
