"""The orders domain: how orders and lines are read (``sql.py``) and the order commands (``service.py``)."""
