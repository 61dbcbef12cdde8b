"""Every table's rows for a scale and a seed: the organizations one after the other,
each domain from its own random stream. Given a sink, the largest tables stream to it
in batches while they are generated; the rest is handed over at the end."""

from __future__ import annotations

import gc
from collections.abc import Callable

from app.seed.common import Dataset, Sink, rng_for
from app.seed.customers import CUSTOMER_COLUMNS, generate_customers
from app.seed.hr import DEPARTMENT_COLUMNS, EMPLOYEE_COLUMNS, EVENT_COLUMNS, generate_hr
from app.seed.invoices import INVOICE_COLUMNS, INVOICE_LINE_COLUMNS, Billing
from app.seed.orders import LINE_COLUMNS, ORDER_COLUMNS, generate_orders
from app.seed.orgs import ORGANIZATION_COLUMNS, ORGS, add_organization
from app.seed.payments import PAYMENT_COLUMNS
from app.seed.products import PRODUCT_COLUMNS, add_products, plan_products
from app.seed.scales import Scale
from app.seed.users import USER_COLUMNS, add_demo_users, demo_password_hash

# Parents before children, which is also the order they are loaded in.
TABLES = (
    ("organizations", ORGANIZATION_COLUMNS),
    ("users", USER_COLUMNS),
    ("departments", DEPARTMENT_COLUMNS),
    ("employees", EMPLOYEE_COLUMNS),
    ("employment_events", EVENT_COLUMNS),
    ("customers", CUSTOMER_COLUMNS),
    ("products", PRODUCT_COLUMNS),
    ("orders", ORDER_COLUMNS),
    ("order_lines", LINE_COLUMNS),
    ("invoices", INVOICE_COLUMNS),
    ("invoice_lines", INVOICE_LINE_COLUMNS),
    ("payments", PAYMENT_COLUMNS),
)
# What no generator reads back once written: these go to the sink batch by batch. The
# demo users, made last, learn who ordered and who was invoiced from summaries instead.
STREAMED = frozenset({"orders", "order_lines", "invoices", "invoice_lines", "payments"})
BATCH = 50_000  # rows of one table per COPY while streaming


def work_units(scale: Scale) -> int:
    """What ``tick`` counts up to: every order and about one invoice per order."""
    return 2 * scale.orders


def generate(
    scale: Scale, seed: int, tick: Callable[[int], None], sink: Sink | None = None, batch: int | None = None
) -> Dataset:
    """The data set; with a ``sink``, every row has been handed to it when this returns
    (``Dataset.counts`` still counts them), otherwise all rows are in ``Dataset.rows``.
    ``batch``: rows of a streamed table per hand-over (default ``BATCH``)."""
    data = Dataset(TABLES, sink=sink, streamed=STREAMED, batch=BATCH if batch is None else batch)

    def step(done: int) -> None:
        # Generators report progress every few thousand rows: a natural point to let
        # full buffers go.
        tick(done)
        data.spill()

    password_hash = demo_password_hash(seed)  # argon2 is slow on purpose: once per run
    # Millions of small tuples that live until they are written: the cyclic garbage
    # collector would only walk them again and again, for nothing.
    enabled = gc.isenabled()
    gc.disable()
    try:
        for org in ORGS:
            part = scale.share(org.share)
            org_id, founded = add_organization(data, org)
            staff = generate_hr(data, org, org_id, part.employees, rng_for(seed, org.slug, "hr"))
            buyers = generate_customers(
                data, org, org_id, part.customers, staff.account_managers, rng_for(seed, org.slug, "customers")
            )
            catalog = plan_products(data, org, part.products, rng_for(seed, org.slug, "products"))
            billing = Billing(data, org, org_id, catalog, rng_for(seed, org.slug, "billing"), step)
            reserved, ordered = generate_orders(
                data,
                org_id,
                part.orders,
                buyers,
                catalog,
                staff.account_managers,
                rng_for(seed, org.slug, "orders"),
                step,
                billing,
            )
            billing.finish()
            add_products(data, org_id, catalog, reserved, rng_for(seed, org.slug, "stock"))
            step(max(0, part.orders - billing.written))  # orders that got no invoice
            add_demo_users(data, org, org_id, password_hash, founded, ordered, billing.invoiced)
        data.flush()
    finally:
        if enabled:
            gc.enable()
    return data
