"""Running alembic from code: the CLI, the demo and the tests share this."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL

from alembic import command

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"


def alembic_config(url: URL) -> Config:
    config = Config(str(ALEMBIC_INI))
    config.attributes["url"] = url
    config.attributes["configure_logging"] = False
    return config


def upgrade(url: URL, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: URL, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def code_revisions() -> tuple[str, frozenset[str]]:
    """This code's head revision and every revision its migrations know."""
    scripts = ScriptDirectory(str(PROJECT_ROOT / "alembic"))
    head = scripts.get_current_head()
    if head is None:
        raise RuntimeError("the migrations have no head")
    return head, frozenset(script.revision for script in scripts.walk_revisions())
