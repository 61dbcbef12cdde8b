"""Subscriptions: live queries (every ``Query`` root field, re-run when its tables change)
and event streams (the outbox in commit order), served to the edge as feeds of messages."""
