"""The product catalog of one organization.

The catalog is planned before the orders (which pick from it) and written after
them, because the stock reserved by open orders is only known then."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from itertools import accumulate

from app.seed.common import DAY, YEAR_DAYS, Dataset, at, cents, quota
from app.seed.orgs import OrgSpec

PRODUCT_COLUMNS = (
    "id",
    "org_id",
    "sku",
    "name",
    "description",
    "unit_price",
    "tax_rate",
    "stock_on_hand",
    "stock_reserved",
    "active",
    "version",
    "created_at",
    "updated_at",
)

# (sku prefix, tax class, price range in whole units, product nouns)
CATEGORIES = (
    ("OFF", "goods", (2, 60), ("Notebook", "Desk Organizer", "Stapler", "Whiteboard", "Paper Ream", "Pen Set")),
    ("ELC", "goods", (15, 900), ("USB-C Hub", "Monitor", "Wireless Mouse", "Keyboard", "Headset", "Webcam")),
    ("FUR", "goods", (80, 1500), ("Office Chair", "Standing Desk", "Filing Cabinet", "Bookshelf", "Meeting Table")),
    ("IND", "goods", (3, 400), ("Safety Gloves", "Cable Ties", "Drill Bit Set", "Pallet Wrap", "Work Light")),
    ("FOD", "food", (4, 40), ("Coffee Beans 1kg", "Green Tea", "Spring Water 24-Pack", "Snack Box")),
    ("SWL", "digital", (10, 250), ("CRM License", "Backup Plan", "Analytics Seat", "Security Suite")),
    ("SVC", "service", (50, 600), ("Installation", "Onsite Support Hour", "Training Session", "Maintenance Visit")),
)
ADJECTIVES = ("Compact", "Pro", "Eco", "Classic", "Heavy-Duty", "Premium", "Essential", "Ultra", "Smart", "Modular")
STOCKED = ("goods", "food")  # services and licenses are not kept in a warehouse

DISCONTINUED_AGO = YEAR_DAYS * DAY
"""Inactive products stopped selling about a year before the anchor (seconds)."""


@dataclass(slots=True, eq=False)  # hashed by identity: orders de-duplicate picks
class Item:
    id: int
    sku: str
    name: str
    description: str
    price: Decimal
    tax_rate: Decimal
    stocked: bool
    active: bool
    created: int  # seconds before the anchor
    updated: int


class Catalog:
    """The products and, for fast weighted picks, cumulative popularity: all of them
    for orders before the discontinuation, only the active ones after."""

    def __init__(self, items: list[Item], popularity: list[float]) -> None:
        self.items = items
        self.by_id = {item.id: item for item in items}
        self.all_cum = list(accumulate(popularity))
        current = [(item, weight) for item, weight in zip(items, popularity, strict=True) if item.active]
        self.current = [item for item, _ in current]
        self.current_cum = list(accumulate(weight for _, weight in current))


def plan_products(data: Dataset, org: OrgSpec, count: int, rng: random.Random) -> Catalog:
    first_id = data.reserve("products", count)
    states = quota(rng, count, {"active": 0.88, "inactive": 0.12})
    items = []
    for i, state in enumerate(states):
        prefix, tax_class, (low, high), nouns = CATEGORIES[i % len(CATEGORIES)]
        noun, adjective = rng.choice(nouns), rng.choice(ADJECTIVES)
        model = f"{chr(65 + rng.randrange(26))}{rng.randint(1, 99) * 10}"
        units = rng.randint(low, high)
        price = cents(units * 100 + rng.choice((99, 49, 0)) if units > 1 else 199)
        created = rng.randint(2 * YEAR_DAYS * DAY + DAY, 4 * YEAR_DAYS * DAY)
        if state == "inactive":
            updated = DISCONTINUED_AGO + rng.randint(0, 30 * DAY)
        else:  # some had their price changed since
            updated = created if rng.random() < 0.7 else rng.randint(DAY, created)
        items.append(
            Item(
                id=first_id + i,
                sku=f"{prefix}-{i + 1:05d}",
                name=f"{adjective} {noun} {model}",
                description=f"{noun}, {adjective.lower()} line, model {model}.",
                price=price,
                tax_rate=Decimal(rng.choice(org.tax_rates[tax_class])),
                stocked=tax_class in STOCKED,
                active=state == "active",
                created=created,
                updated=updated,
            )
        )
    # A few products sell far more than the rest, as in any catalog.
    ranks = list(range(count))
    rng.shuffle(ranks)
    return Catalog(items, [1.0 / (1 + rank) ** 0.8 for rank in ranks])


def add_products(data: Dataset, org_id: int, catalog: Catalog, reserved: dict[int, int], rng: random.Random) -> None:
    rows = data.rows["products"]
    for item in catalog.items:
        held = reserved.get(item.id, 0)
        if not item.stocked:
            on_hand = 0
        elif not item.active or rng.random() < 0.06:  # sold out, or no longer restocked
            on_hand = held
        else:
            on_hand = held + rng.randint(5, 2500)
        rows.append(
            (
                item.id,
                org_id,
                item.sku,
                item.name,
                item.description,
                item.price,
                item.tax_rate,
                on_hand,
                held,
                item.active,
                1 if item.updated == item.created else 2,
                at(item.created),
                at(item.updated),
            )
        )
