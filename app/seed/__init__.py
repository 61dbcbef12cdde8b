"""Deterministic demo data: ``run_seed`` fills a migrated database for a scale and a seed.

Generation is pure Python over seeded ``random.Random`` streams and a fixed anchor
date; the rows go to PostgreSQL with COPY in bounded batches while they are generated,
over one psycopg connection, in one transaction.
"""

from app.seed.report import SeedReport
from app.seed.runner import SeedRefused, is_seeded, run_seed

__all__ = ["SeedRefused", "SeedReport", "is_seeded", "run_seed"]
