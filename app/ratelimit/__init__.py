"""Per-principal budgets in cost units: token buckets, in memory or in Redis."""
