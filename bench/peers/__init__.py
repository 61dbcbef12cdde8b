"""Side by side: bizgraph, a peer GraphQL server and a hand-written-SQL floor on one database.

Driven by ``bench/peers/run.sh`` (shell for processes, Python for cells, checks and tables); see
``bench/README.md``, "Side by side". The Python modules need only the standard library, except
``bodies`` (psycopg, through ``bench.workloads``), ``floor.app`` (the floor's server) and
``cprofile`` (bizgraph itself).
"""
