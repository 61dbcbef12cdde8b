"""Several worker processes, one scrape: with ``PROMETHEUS_MULTIPROC_DIR`` set, what each
process counted is written to files there and any process's /metrics answer sums them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.observability.metrics_text import value

WORKER = """
import sys
from app.http.metrics import OperationNames, flush_requests, observe
from app.http.request_record import RequestRecord

names = OperationNames(10)
for _ in range(int(sys.argv[1])):
    record = RequestRecord("r", operation_name="Shared", operation_type="query", statements=2)
    observe(record, names)
# As a worker's refresh does, every second and before it ends.
flush_requests()
"""

SCRAPE = """
import sys
from app.http.metrics import exposition
sys.stdout.write(exposition().decode())
"""


def _python(code: str, *args: str, directory: Path) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


def test_a_scrape_sums_what_every_worker_counted(tmp_path: Path) -> None:
    _python(WORKER, "3", directory=tmp_path)
    _python(WORKER, "4", directory=tmp_path)
    text = _python(SCRAPE, directory=tmp_path)
    labels = {"operation": "Shared", "type": "query", "outcome": "ok"}
    assert value(text, "bizgraph_graphql_requests_total", **labels) == 7
    assert value(text, "bizgraph_graphql_statements_per_request_sum", type="query") == 14
    assert value(text, "bizgraph_graphql_request_duration_seconds_count", type="query") == 7
    # Each process writes files of its own (the scraping one too, for its unlabelled series).
    assert len(list(tmp_path.glob("counter_*.db"))) == 3
