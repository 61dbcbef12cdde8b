"""The data layer: the query planner (selection → SQL) and per-domain SQL.

Nothing here knows GraphQL's runtime, Starlette or Strawberry; the schema layer
hands over a plain selection tree (``resolvers.planner.selection``).
"""
