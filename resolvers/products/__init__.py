"""The products domain: how products are read (``sql.py``) and the product commands (``service.py``)."""
