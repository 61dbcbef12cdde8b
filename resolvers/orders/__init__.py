"""The orders domain: how it is read (``catalog.py``: API fields to columns) and its
business commands (``commands.py``, and the modules it draws on)."""
