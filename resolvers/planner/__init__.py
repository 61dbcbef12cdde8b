"""The query planner: one SQL statement per root field, JSON built by PostgreSQL."""
