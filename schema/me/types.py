"""``me``: the principal, its organization, and what the policy lets it read."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from graphql import GraphQLObjectType

from app.auth import access, policy
from app.auth.principal import Principal
from schema.context import reads
from schema.planned import PlannedObject
from schema.selection import root_selection

if TYPE_CHECKING:  # the lazy references below, for the type checker
    from schema.customers.types import Customer
    from schema.employees.types import Employee

EmployeeRef = Annotated["Employee", strawberry.lazy("schema.employees.types")]
CustomerRef = Annotated["Customer", strawberry.lazy("schema.customers.types")]


@strawberry.enum(description="A role; a principal may hold several and their permissions add up.")
class Role(enum.Enum):
    ADMIN = "ADMIN"
    FINANCE = "FINANCE"
    SALES = "SALES"
    HR = "HR"
    MANAGER = "MANAGER"
    EMPLOYEE = "EMPLOYEE"
    ANALYST = "ANALYST"
    CUSTOMER = "CUSTOMER"


@strawberry.enum(description="Who the principal is: a signed-in user or a service client.")
class PrincipalKind(enum.Enum):
    USER = "USER"
    SERVICE = "SERVICE"


@strawberry.enum(description="A set of rows the policy table grants; see `RowScopeGrant.description`.")
class RowScope(enum.Enum):
    ALL = policy.ALL
    OWN_ACCOUNTS = policy.OWN_ACCOUNTS
    MY_REPORTS = policy.MY_REPORTS
    TEAM_SALES = policy.TEAM_SALES
    LEDGER_RECORDS = policy.LEDGER_RECORDS
    PEOPLE_RECORDS = policy.PEOPLE_RECORDS
    MYSELF = policy.MYSELF
    MY_CUSTOMER = policy.MY_CUSTOMER


@strawberry.enum(description="Whether a field may be read on the rows the principal sees.")
class FieldAccess(enum.Enum):
    ALLOWED = "ALLOWED"
    SOME_ROWS = "SOME_ROWS"
    DENIED = "DENIED"


@strawberry.type(description="A set of rows, with what it means in words.")
class RowScopeGrant:
    scope: RowScope = strawberry.field(description="The scope.")
    description: str = strawberry.field(description="What rows it covers, in words.")


def _grants(scopes: frozenset[str]) -> list[RowScopeGrant]:
    return [
        RowScopeGrant(scope=RowScope(s), description=policy.SCOPE_DESCRIPTIONS[s]) for s in policy.SCOPES if s in scopes
    ]


@strawberry.type(description="Whether one field may be read, and on which rows.")
class FieldPermission:
    name: str = strawberry.field(description="The field's name.")
    access: FieldAccess = strawberry.field(
        description="ALLOWED on every row you see; SOME_ROWS on `rowScopes` only (elsewhere: null and FORBIDDEN); "
        "DENIED everywhere."
    )
    row_scopes: list[RowScopeGrant] = strawberry.field(description="For SOME_ROWS: the rows it may be read on.")


@strawberry.type(description="What the principal may read of one type, as the policy table decides it.")
class TypePermissions:
    type_name: str = strawberry.field(description="The GraphQL type.")
    row_scopes: list[RowScopeGrant] = strawberry.field(
        description="The rows of this type that exist for you; empty: none (lists are empty, lookups null)."
    )
    fields: list[FieldPermission] = strawberry.field(description="Every field of the type.")
    aggregate_scopes: list[RowScopeGrant] = strawberry.field(
        description="The rows you may aggregate (`…Aggregate` fields); empty: none."
    )


@strawberry.type(description="The principal's organization.")
class Organization:
    slug: str = strawberry.field(description="Short unique name.")
    name: str = strawberry.field(description="Display name.")
    currency: str = strawberry.field(description="ISO 4217 currency of every amount.")
    time_zone: str = strawberry.field(description="IANA time zone that aggregates bucket days, weeks and months in.")


@strawberry.type(description="Who is asking: the principal of this request.")
class Me:
    principal: strawberry.Private[Principal]

    @strawberry.field(description="The token's subject.")
    def subject(self) -> str:
        return self.principal.subject

    @strawberry.field(description="A user or a service client.")
    def kind(self) -> PrincipalKind:
        return PrincipalKind(self.principal.kind.upper())

    @strawberry.field(description="The user's email; null for a service client.")
    def email(self) -> str | None:
        return self.principal.email

    @strawberry.field(description="The roles held; permissions add up.")
    def roles(self) -> list[Role]:
        return [Role(role.upper()) for role in sorted(self.principal.roles)]

    @strawberry.field(description="The OAuth scopes the token was granted.")
    def scopes(self) -> list[str]:
        return sorted(self.principal.scopes)

    @strawberry.field(description="The organization every read and write is confined to.")
    async def organization(self, info: strawberry.Info) -> Organization:
        row = await reads(info).organization()
        return Organization(slug=row["slug"], name=row["name"], currency=row["currency"], time_zone=row["time_zone"])

    @strawberry.field(
        description="The employee record linked to the user, as far as the policy lets you read it.",
        graphql_type=EmployeeRef | None,
    )
    async def employee(self, info: strawberry.Info) -> PlannedObject | None:
        if self.principal.employee_id is None:
            return None
        return await reads(info).by_pk("Employee", self.principal.employee_id, root_selection(info))

    @strawberry.field(
        description="The customer record linked to the user (customer portal).",
        graphql_type=CustomerRef | None,
    )
    async def customer(self, info: strawberry.Info) -> PlannedObject | None:
        if self.principal.customer_id is None:
            return None
        return await reads(info).by_pk("Customer", self.principal.customer_id, root_selection(info))

    @strawberry.field(
        description="What you may read of a type: its rows, each field, and aggregates; null for a type"
        " the policy table does not govern (e.g. `Me`)."
    )
    def permissions(self, info: strawberry.Info, type_name: str) -> TypePermissions | None:
        if type_name not in policy.ROWS:
            return None
        governed = info._raw_info.schema.get_type(type_name)
        assert isinstance(governed, GraphQLObjectType)  # the policy table governs object types only
        fields = list(governed.fields)
        roles = self.principal.roles
        return TypePermissions(
            type_name=type_name,
            row_scopes=_grants(access.row_scopes(type_name, roles)),
            fields=[_field_permission(type_name, name, roles) for name in fields],
            aggregate_scopes=_grants(access.aggregate_scopes(type_name, roles)),
        )


def _field_permission(type_name: str, name: str, roles: frozenset[str]) -> FieldPermission:
    decided = access.field_access(type_name, name, roles)
    kind = {"allowed": FieldAccess.ALLOWED, "denied": FieldAccess.DENIED, "some rows": FieldAccess.SOME_ROWS}[
        decided.kind
    ]
    return FieldPermission(name=name, access=kind, row_scopes=_grants(decided.scopes))
