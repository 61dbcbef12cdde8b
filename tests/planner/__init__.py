"""The query planner: statement counts, the fast path, the catalog, policy compiled into SQL."""
