"""The two demo organizations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from app.seed.common import ANCHOR, YEAR_DAYS, Dataset

ORGANIZATION_COLUMNS = ("id", "slug", "name", "currency", "time_zone", "postal_address", "tax_id", "created_at")


@dataclass(frozen=True)
class OrgSpec:
    slug: str
    name: str
    currency: str
    time_zone: str
    share: float  # of every table's rows; the demo organization gets the larger part
    countries: dict[str, float]  # where its customers are, by weight
    people: str  # name pool of its staff
    salary_factor: float  # pay in its currency relative to the USD ladder
    tax_rates: dict[str, tuple[str, ...]]  # product class -> rates it charges
    work_hour_utc: int  # 9 a.m. local, roughly, for HR events
    postal_address: str  # what its invoices and emails print under its name (lines)
    tax_id: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


ORGS = (
    OrgSpec(
        "acme",
        "Acme Corporation",
        "USD",
        "America/New_York",
        0.7,
        {"US": 0.70, "CA": 0.10, "MX": 0.05, "GB": 0.06, "DE": 0.03, "JP": 0.03, "AU": 0.03},
        "en",
        1.0,
        # US sales tax differs by state; a product carries the rate of where it ships from.
        {
            "goods": ("0.0625", "0.0700", "0.0825"),
            "food": ("0.0000", "0.0225"),
            "digital": ("0.0000",),
            "service": ("0.0000",),
        },
        13,
        "100 Market Street\nSuite 400\nBoston, MA 02110\nUS",
        "US 12-3456789",
    ),
    OrgSpec(
        "globex",
        "Globex GmbH",
        "EUR",
        "Europe/Berlin",
        0.3,
        {"DE": 0.55, "AT": 0.12, "CH": 0.10, "FR": 0.07, "NL": 0.06, "IT": 0.05, "PL": 0.05},
        "de",
        0.8,
        # German VAT: 19 % standard, 7 % reduced for food.
        {"goods": ("0.1900",), "food": ("0.0700",), "digital": ("0.1900",), "service": ("0.1900",)},
        8,
        "Friedrichstraße 120\n10117 Berlin\nDE",
        "DE 123456789",
    ),
)


def add_organization(data: Dataset, org: OrgSpec) -> tuple[int, datetime]:
    """Write the organization; return its id and when it was founded."""
    org_id = data.reserve("organizations", 1)
    founded = ANCHOR - timedelta(days=12 * YEAR_DAYS + 40 * org_id)
    data.rows["organizations"].append(
        (org_id, org.slug, org.name, org.currency, org.time_zone, org.postal_address, org.tax_id, founded)
    )
    return org_id, founded
