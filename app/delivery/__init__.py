"""Outbound delivery: what the ``bizgraph worker`` process runs, and what every kind of
delivery (webhooks, customer emails) shares: the retry schedule (``retry``).

For webhooks, the worker follows the outbox per organization (``fanout``), turns each event
into one delivery per endpoint that wants it, claims due deliveries with ``FOR UPDATE SKIP
LOCKED`` (``claims``), POSTs them signed in the Standard Webhooks format (``signing``,
``transport``) to addresses checked after DNS resolution (``targets``), and records every
attempt and what follows from it (``outcomes``: retry with ``retry``'s schedule, delivered,
failed, endpoint disabled). ``prune`` deletes what retention lets go. Customer emails are
``app.notifications``.

This package speaks SQL and HTTP to receivers, never GraphQL: the management commands
(create an endpoint, rotate its secret, redeliver) are in resolvers/webhooks.
"""
