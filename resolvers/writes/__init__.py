"""The machinery every command shares: its transaction, audit and outbox writes,
input checks, lifecycle checks, idempotency, and the mapping of database
refusals to user errors. The commands themselves live in ``resolvers/<domain>/commands.py``."""
