"""Tokens, the token endpoint, the policy table, row-level security, tenant isolation."""
