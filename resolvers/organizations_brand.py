"""An organization's brand and sender, as its customers' emails and invoices show them
(``bizgraph brand``). Run as the database owner, in one transaction, like the other
administration commands: the server's role may only read ``organizations``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import text

from app.config import Settings
from app.db import sync_engine
from app.errors import BadUserInput, ConfigError

_COLOR = re.compile(r"^#[0-9a-f]{6}$")
# Column → (the CLI's option, longest value).
COLUMNS: dict[str, tuple[str, int]] = {
    "email_sender_name": ("sender-name", 200),
    "email_from": ("from", 254),
    "brand_color": ("color", 7),
    "brand_logo_text": ("logo-text", 60),
    "postal_address": ("postal-address", 1000),
    "tax_id": ("tax-id", 32),
}
_SELECT = "SELECT slug, name, " + ", ".join(COLUMNS) + " FROM organizations WHERE slug = :slug"


@dataclass(frozen=True)
class Brand:
    slug: str
    name: str
    values: dict[str, Any]

    def lines(self) -> list[str]:
        return [f"{self.slug} ({self.name}):"] + [
            f"  {COLUMNS[column][0]}: {'(not set)' if value is None else value!r}"
            for column, value in self.values.items()
        ]


def set_brand(settings: Settings, *, org: str, changes: dict[str, str | None]) -> Brand:
    """Change the given columns (an empty string clears one, back to its default), then
    return the organization's brand; with no changes, only show it."""
    values = {column: _checked(column, value) for column, value in changes.items()}
    if settings.database_url is None:
        raise ConfigError("DATABASE_URL is not set (e.g. postgresql://user@localhost:5432/bizgraph)")
    with sync_engine(settings.database_url, settings).begin() as connection:
        if values:
            assignments = ", ".join(f"{column} = :{column}" for column in values)
            connection.execute(
                text(f"UPDATE organizations SET {assignments} WHERE slug = :slug"), {**values, "slug": org}
            )
        row = connection.execute(text(_SELECT), {"slug": org}).mappings().first()
    if row is None:
        raise BadUserInput(f"no organization with slug {org!r}", field=["org"])
    return Brand(row["slug"], row["name"], {column: row[column] for column in COLUMNS})


def _checked(column: str, raw: str | None) -> Any:
    option, longest = COLUMNS[column]
    value = (raw or "").strip().replace("\\n", "\n")
    if not value:
        return "#1f4e79" if column == "brand_color" else None
    if len(value) > longest:
        raise BadUserInput(f"--{option} may have at most {longest} characters", field=[option])
    if column == "brand_color":
        value = value.lower()
        if not _COLOR.match(value):
            raise BadUserInput(f"--{option} must be a colour like #1f4e79, got {raw!r}", field=[option])
    if column == "email_from":
        try:
            value = validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as error:
            raise BadUserInput(f"--{option} is not an email address: {error}", field=[option]) from None
    return value
