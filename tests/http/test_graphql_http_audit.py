"""The graphql-http package's audit suite (its reading of the GraphQL-over-HTTP spec) against the
real app on a real port, with an admin's token: every audit must be ``ok``, MAYs included.

The audit runs in node (``tests/http/graphql_http_audit/``); its packages come from the npm
registry through ``npm ci`` and the lock file, installed once and kept in that folder's
git-ignored ``node_modules/`` until the lock file changes.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.support.auth import token_for_user
from tests.support.npm import node_packages
from tests.support.serving import serve

AUDIT_DIR = Path(__file__).resolve().parent / "graphql_http_audit"
# How many audits graphql-http 1.23.1 (the locked version) defines: a run that reports fewer did
# not audit everything.
AUDITS = 61


@pytest.fixture(scope="session")
def audit_script() -> Path:
    """``audit.mjs`` with its packages installed (``npm ci`` only when the lock file changed)."""
    node_packages(AUDIT_DIR)
    return AUDIT_DIR / "audit.mjs"


async def _run_audit(script: Path, endpoint: str, token: str) -> list[dict[str, Any]]:
    node = shutil.which("node")
    assert node is not None
    process = await asyncio.create_subprocess_exec(
        node,
        str(script),
        endpoint,
        env={**os.environ, "BIZGRAPH_AUDIT_TOKEN": token},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), 60)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, err.decode()
    return json.loads(out)


@pytest.mark.timeout(300)
async def test_every_graphql_http_audit_is_ok(app, audit_script: Path) -> None:
    token = token_for_user(app, "admin@acme.example")
    async with serve(app) as origin:
        results = await _run_audit(audit_script, f"{origin}/graphql", token)

    counts = Counter(result["status"] for result in results)
    print(f"graphql-http audit: {dict(counts)}")
    assert len(results) == AUDITS, counts
    not_ok = [result for result in results if result["status"] != "ok"]
    assert not not_ok, json.dumps(not_ok, indent=2)
