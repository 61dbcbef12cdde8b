"""Customers of one organization, and the buying pattern the order generator follows."""

from __future__ import annotations

import random
from dataclasses import dataclass

from app.seed.common import DAY, YEAR_DAYS, Dataset, at, cents, fill_pattern, quota
from app.seed.names import ascii_slug, company, person
from app.seed.orgs import OrgSpec
from app.seed.places import COUNTRIES, address, phone

CUSTOMER_COLUMNS = (
    "id",
    "org_id",
    "number",
    "name",
    "kind",
    "email",
    "phone",
    "segment",
    "country",
    "billing_street",
    "billing_city",
    "billing_postal_code",
    "tax_id",
    "credit_limit",
    "status",
    "account_manager_id",
    "version",
    "created_at",
    "updated_at",
)

SEGMENTS = {"enterprise": 0.04, "mid_market": 0.14, "small_business": 0.37, "consumer": 0.45}
STATUSES = {"active": 0.72, "inactive": 0.18, "lead": 0.10}
# Credit limit range per segment: (low, high, step) in whole currency units.
CREDIT = {
    "enterprise": (100, 1000, 1000),
    "mid_market": (20, 200, 1000),
    "small_business": (1, 25, 1000),
    "consumer": (0, 20, 100),
}
# How often a customer of the segment orders, relative to a consumer.
ORDER_WEIGHT = {"enterprise": 12.0, "mid_market": 5.0, "small_business": 2.0, "consumer": 1.0}

ORDER_WINDOW = 2 * YEAR_DAYS * DAY
"""Orders are spread over the two years before the anchor (seconds)."""


@dataclass(slots=True)
class Buyer:
    """A customer who places orders, between ``since`` and ``until`` seconds before the anchor."""

    id: int
    segment: str
    since: int
    until: int
    account_manager: int | None
    weight: float


def generate_customers(
    data: Dataset, org: OrgSpec, org_id: int, count: int, account_managers: list[int], rng: random.Random
) -> list[Buyer]:
    segments = quota(rng, count, SEGMENTS)
    statuses = quota(rng, count, STATUSES)
    codes, weights = list(org.countries), list(org.countries.values())
    people: list[tuple[int, str, str, int | None]] = []  # (created, segment, status, churned)
    for segment, status in zip(segments, statuses, strict=True):
        # Ages in seconds before the anchor; an inactive customer stopped buying at some point.
        if status == "lead":
            created, churned = rng.randint(DAY, 2 * YEAR_DAYS * DAY), None
        elif status == "active":
            created, churned = rng.randint(20 * DAY, 4 * YEAR_DAYS * DAY), None
        else:
            created = rng.randint(YEAR_DAYS * DAY, 4 * YEAR_DAYS * DAY)
            churned = rng.randint(120 * DAY, min(created, ORDER_WINDOW) - 30 * DAY)
        people.append((created, segment, status, churned))
    # Oldest first, so ids and customer numbers follow sign-up order.
    people.sort(key=lambda p: -p[0])
    first_id = data.reserve("customers", count)
    buyers: list[Buyer] = []
    rows = data.rows["customers"]
    for i, (created, segment, status, churned) in enumerate(people):
        cid = first_id + i
        country = COUNTRIES[rng.choices(codes, weights)[0]]
        individual = segment == "consumer" or (segment == "small_business" and rng.random() < 0.15)
        if individual:
            first, last = person(rng, country.people)
            name, tax_id = f"{first} {last}", None
            email = f"{ascii_slug(first)}.{ascii_slug(last)}{rng.randint(1, 99)}@example.net"
        else:
            name = company(rng, country.suffixes, country.people)
            tax_id = fill_pattern(rng, country.tax_id)
            email = f"accounts@{ascii_slug(name.rsplit(' ', 1)[0]).replace(' ', '')}.example"
        street, city, postal = address(rng, country)
        low, high, step = CREDIT[segment]
        credit = cents(rng.randint(low, high) * step * 100)
        manager = rng.choice(account_managers) if segment != "consumer" else None
        # lead -> active -> inactive: each step bumped the version and the update time.
        if status == "lead":
            version, updated = 1, created
        elif status == "active":
            version, updated = 2, created - rng.randint(0, min(created, 30 * DAY))
        else:
            assert churned is not None  # only an inactive customer churned, and every one did
            version, updated = 3, churned
        rows.append(
            (
                cid,
                org_id,
                f"C-{i + 1:06d}",
                name,
                "individual" if individual else "company",
                email,
                phone(rng, country),
                segment,
                country.code,
                street,
                city,
                postal,
                tax_id,
                credit,
                status,
                manager,
                version,
                at(created),
                at(updated),
            )
        )
        if status != "lead":
            buyers.append(Buyer(cid, segment, min(created, ORDER_WINDOW), churned or 0, manager, ORDER_WEIGHT[segment]))
    return buyers
