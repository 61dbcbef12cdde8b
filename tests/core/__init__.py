"""Configuration, migrations and the seed."""
