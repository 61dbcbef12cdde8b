"""Department filters and sorting, derived from the catalog entry."""

from __future__ import annotations

from resolvers.departments.catalog import DEPARTMENT
from schema.departments.types import Department
from schema.derived_inputs import filter_input, sort_inputs


@filter_input(DEPARTMENT, Department)
class DepartmentFilter:
    """Its fields are the filters of ``DEPARTMENT`` in resolvers/departments/catalog.py."""


DepartmentSortField, DepartmentSort = sort_inputs(DEPARTMENT)
