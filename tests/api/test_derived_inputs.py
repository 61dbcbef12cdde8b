"""Filter and sort inputs derived from a catalog entry: what one declaration becomes, and the
mistakes the derivation refuses at import rather than leaving to a client to find."""

import enum
import re

import pytest
import strawberry

from resolvers.planner.catalog import Entity, ForeignId, ToOne, Wording, col
from schema.derived_inputs import filter_input, sort_inputs


@strawberry.enum(description="Where a gadget is.")
class GadgetState(enum.Enum):
    NEW = "NEW"
    USED = "USED"


@strawberry.type(description="Who makes gadgets.")
class Maker:
    name: str = strawberry.field(description="Name.")


@strawberry.type(description="A gadget.")
class Gadget:
    state: GadgetState = strawberry.field(description="Where it is.")
    label: str | None = strawberry.field(description="Label.")
    maker: Maker = strawberry.field(description="Who made it.")


GADGET = Entity(
    name="Gadget",
    table="gadgets",
    fields={},
    sorts={"ID": (), "MADE_AT": (col("made_at", "datetime"),)},
    default_sort=("MADE_AT", "DESC"),
    filters={
        "id": ForeignId("Gadget", "id", description="The gadget's ID."),
        "madeAt": col("made_at", "datetime", description="When made."),
        "state": col("state", "enum", description="State."),
        "makerId": ForeignId("Maker", "maker_id", description="The maker's ID."),
    },
    wording=Wording("gadgets"),
)


@filter_input(GADGET, Gadget)
class GadgetFilter:
    pass


GadgetSortField, GadgetSort = sort_inputs(GADGET)


@strawberry.type
class Query:
    @strawberry.field(description="Gadgets.")
    def gadgets(self, filter: GadgetFilter | None = None, order_by: list[GadgetSort] | None = None) -> list[Gadget]:
        return []


def _sdl_of(type_name: str) -> str:
    sdl = str(strawberry.Schema(query=Query))
    found = re.search(rf'^("""[^"]*"""\n|"[^\n]*"\n)?(input|enum) {type_name} {{\n.*?^}}', sdl, re.S | re.M)
    assert found, type_name
    return found.group(0)


def test_the_catalog_entry_becomes_the_filter_input():
    assert (
        _sdl_of("GadgetFilter")
        == '''"""Conditions on gadgets; all given fields must hold."""
input GadgetFilter {
  """The gadget's ID."""
  id: IDFilter

  """When made."""
  madeAt: DateTimeFilter

  """State."""
  state: GadgetStateFilter

  """The maker's ID."""
  makerId: IDFilter

  """All of."""
  and: [GadgetFilter!]

  """Any of."""
  or: [GadgetFilter!]

  """Not this."""
  not: GadgetFilter
}'''
    )


def test_the_sorts_become_the_sort_field_and_a_key_that_defaults_to_the_entity_direction():
    assert (
        _sdl_of("GadgetSortField")
        == '''"""Fields gadgets can be sorted by."""
enum GadgetSortField {
  ID
  MADE_AT
}'''
    )
    assert (
        _sdl_of("GadgetSort")
        == '''"""One sort key for gadgets; ties are broken by ID."""
input GadgetSort {
  """What to sort by."""
  field: GadgetSortField!

  """Ascending or descending."""
  direction: SortDirection! = DESC
}'''
    )


def _entity(**filters: object) -> Entity:
    return Entity(name="Gadget", table="gadgets", fields={}, sorts={}, filters=filters, wording=Wording("gadgets"))


def _derive(entity: Entity, class_name: str = "GadgetFilter") -> None:
    filter_input(entity, Gadget)(type(class_name, (), {}))


def test_a_filter_without_a_description_is_refused():
    with pytest.raises(ValueError, match="no description for the Gadget filter 'label'"):
        _derive(_entity(label=col("label", "text", nullable=True)))


def test_a_json_column_cannot_be_filtered():
    with pytest.raises(TypeError, match="a json column cannot be filtered"):
        _derive(_entity(label=col("label", "json", description="Label.")))


def test_an_enum_filter_needs_an_enum_field():
    with pytest.raises(TypeError, match=r"Gadget\.label is filtered as an enum"):
        _derive(_entity(label=col("label", "enum", description="Label.")))


def test_a_relation_filter_leads_where_the_field_does():
    with pytest.raises(TypeError, match="relates to Gadget in the catalog, to Maker in the schema"):
        _derive(_entity(maker=ToOne("Gadget", local="maker_id", description="Conditions on the maker.")))


def test_the_filter_input_is_named_after_the_entity():
    with pytest.raises(TypeError, match="is named GadgetFilter, not MakerFilter"):
        _derive(_entity(), "MakerFilter")
