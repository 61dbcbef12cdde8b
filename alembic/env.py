"""Alembic environment: migrations run synchronously over psycopg 3."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from app.config import Settings
from app.db import sync_engine
from app.errors import ConfigError
from app.models import metadata

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.attributes.get("url") or Settings.from_env().database_url
    if url is None:
        raise ConfigError("DATABASE_URL is not set: alembic needs a database to migrate")
    engine = sync_engine(url)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("bizgraph migrations run online only")
run_migrations_online()
