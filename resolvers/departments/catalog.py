"""How departments are read."""

from resolvers.planner.catalog import Entity, ForeignId, GlobalId, ToMany, ToOne, col

DEPARTMENT = Entity(
    name="Department",
    table="departments",
    fields={
        "id": GlobalId(),
        "code": col("code", "text"),
        "name": col("name", "text"),
        "parent": ToOne("Department", local="parent_id"),
        "children": ToMany("Department", remote="parent_id"),
        "head": ToOne("Employee", local="head_id"),
        "employees": ToMany("Employee", remote="department_id"),
        "createdAt": col("created_at", "datetime"),
    },
    sorts={"ID": (), "CODE": (col("code", "text"),), "NAME": (col("name", "text"),)},
    filters={
        "id": ForeignId("Department", "id"),
        "code": col("code", "text"),
        "name": col("name", "text"),
        "parentId": ForeignId("Department", "parent_id"),
    },
)
