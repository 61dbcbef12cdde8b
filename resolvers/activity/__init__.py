"""Audit log and integration events as readable entities (``catalog.py``)."""
