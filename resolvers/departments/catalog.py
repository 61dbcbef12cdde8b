"""How departments are read."""

from resolvers.planner.catalog import Entity, ForeignId, GlobalId, ToMany, ToOne, Wording, col

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
        "id": ForeignId("Department", "id", description="The department's ID."),
        "code": col("code", "text", description="Code."),
        "name": col("name", "text", description="Name."),
        "parentId": ForeignId("Department", "parent_id", description="The parent's ID (isNull: top level)."),
    },
    wording=Wording("departments"),
)
