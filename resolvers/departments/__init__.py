"""The departments domain: how departments are read (``catalog.py``)."""
