"""``bizgraph serve --demo``: a database that is migrated and seeded, embedded if need be."""

from __future__ import annotations

import logging
from dataclasses import replace

from app.config import Settings
from app.embedded import EmbeddedPostgres
from app.migrations import upgrade

log = logging.getLogger("bizgraph.demo")

DEMO_DATABASE = "bizgraph_demo"


def prepare_demo(settings: Settings) -> tuple[Settings, EmbeddedPostgres | None]:
    """Point settings at a migrated, seeded database; start an embedded server if none is configured."""
    from app.seed import is_seeded, run_seed

    embedded = None
    if settings.database_url is None:
        embedded = EmbeddedPostgres(settings.data_dir / "pgdata").start()
        settings = settings.with_database(embedded.create_database(DEMO_DATABASE))
    settings = replace(settings, demo=True)
    upgrade(settings.database_url)
    if not is_seeded(settings.database_url):
        log.info("seeding the small demo data set (once)")
        print(run_seed(settings.database_url, scale="small", seed=42, reset=False, progress=True).summary())
    return settings, embedded
