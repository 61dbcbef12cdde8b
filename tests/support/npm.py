"""Node packages for tests that drive a real client in node: installed from the npm registry
with ``npm ci`` and a folder's lock file, once, and kept in its git-ignored ``node_modules/``
until the lock file changes. Without node and npm such tests are skipped."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

STAMP = Path("node_modules") / ".bizgraph-install-stamp"


def node_packages(folder: Path) -> str:
    """``node``'s path, once ``folder``'s packages are installed (skips the test without npm)."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        pytest.skip(f"npm/node not installed: {folder.name} runs in node (Debian: apt-get install npm)")
    stamp_file = folder / STAMP
    inputs = (folder / "package.json", folder / "package-lock.json")
    stamp = hashlib.sha256(b"".join(path.read_bytes() for path in inputs)).hexdigest()
    if not (stamp_file.exists() and stamp_file.read_text() == stamp):
        # --ignore-scripts: none of the packages needs an install script, so none gets to run one.
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
            cwd=folder,
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=240,
        )
        stamp_file.write_text(stamp)
    return node
