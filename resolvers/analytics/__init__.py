"""The analytics domain: the aggregates analysts can ask for (``catalog.py``) and their SQL compiler."""
