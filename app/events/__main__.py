"""``python -m app.events``: print the event catalog as README.md's Markdown table."""

from app.events.table import markdown_table

print(markdown_table(), end="")
