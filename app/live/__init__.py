"""Live data's core: what changed in the database, and how every process hears of it.

Committed writes (bizgraph's own and anyone else's) notify the ``bizgraph_changes``
channel with their organization and tables; each server process listens on one
dedicated connection and hands every ``Change`` to its sinks (the live-query engine,
the event streams).
"""
