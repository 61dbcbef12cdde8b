"""On-demand benchmark of a running bizgraph server against a hand-written SQL floor.

Never part of the test suite: ``python -m bench --help``; see ``bench/README.md``.
"""
