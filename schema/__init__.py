"""The GraphQL schema: strawberry types per domain, the root types, and the glue
that hands selections to the planner."""

from schema.build import build_schema

__all__ = ["build_schema"]
