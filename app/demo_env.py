"""What a running demo tells the CLI: how to reach its database and whom its tokens name.

``serve --demo`` writes ``demo.env`` in the data directory: shell ``export`` lines for
``DATABASE_URL`` (only when the demo runs the embedded PostgreSQL, which listens on a Unix
socket nobody could guess) and ``BIZGRAPH_ISSUER`` (the address the demo really listens on,
so ``issue-token`` signs tokens that demo accepts). The CLI reads it for what the environment
leaves unset; ``bizgraph demo-env`` prints it, and ``. demo.env`` gives another tool the same.

The file is private to its user (mode 0600): the embedded server trusts local connections.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.engine import URL

from app.config import DEFAULT_ISSUER, Settings, parse_database_url

DEMO_ENV_FILE = "demo.env"
# What the file may set: nothing else in it is read.
RECORDED = ("DATABASE_URL", "BIZGRAPH_ISSUER")


def demo_env_path(data_dir: Path) -> Path:
    return data_dir / DEMO_ENV_FILE


def write_demo_env(data_dir: Path, *, database_url: URL | None, issuer: str) -> Path:
    """Records the demo's database (when embedded) and issuer; replaces an older record whole."""
    values = {"BIZGRAPH_ISSUER": issuer}
    if database_url is not None:
        values["DATABASE_URL"] = database_url.set(drivername="postgresql").render_as_string(hide_password=False)
    lines = ["# Written by `bizgraph serve --demo`: how to reach the demo (read by the bizgraph CLI)."]
    lines += [f"export {name}={shlex.quote(values[name])}" for name in RECORDED if name in values]
    path = demo_env_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = path.with_suffix(".env.tmp")
    descriptor = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    fresh.replace(path)  # a CLI reading meanwhile sees the old record or the new, never half
    return path


def read_demo_env(data_dir: Path) -> dict[str, str]:
    """The recorded values (none when no demo has run with this data directory)."""
    try:
        text = demo_env_path(data_dir).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    values: dict[str, str] = {}
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            name, value = words[1].split("=", 1)
            if name in RECORDED:
                values[name] = value
    return values


@dataclass(frozen=True)
class DemoDefaults:
    """Settings with the demo's record filling what the environment left unset, and what was taken."""

    settings: Settings
    database_from_demo: bool
    issuer_from_demo: bool


def with_demo_defaults(settings: Settings, env: Mapping[str, str]) -> DemoDefaults:
    """``settings`` plus the demo's database and issuer, where ``env`` sets neither."""
    recorded = read_demo_env(settings.data_dir)
    database_from_demo = settings.database_url is None and "DATABASE_URL" in recorded
    issuer_from_demo = not env.get("BIZGRAPH_ISSUER", "").strip() and "BIZGRAPH_ISSUER" in recorded
    if database_from_demo:
        url = parse_database_url(recorded["DATABASE_URL"], f"DATABASE_URL in {demo_env_path(settings.data_dir)}")
        settings = settings.with_database(url)
    if issuer_from_demo and settings.issuer == DEFAULT_ISSUER:
        settings = replace(settings, issuer=recorded["BIZGRAPH_ISSUER"])
    return DemoDefaults(settings, database_from_demo, issuer_from_demo)
