"""Setup for the subscription bench (``python -m bench.subscriptions``): who subscribes, with which
token, and what the writes change. Everything here runs before the measurement, and it **changes
the bench database**:

- every customer and account manager who subscribes gets a user of their own (``bench-customer-<id>@``
  and ``bench-sales-<id>@<slug>.example``, roles ``customer`` and ``sales``, linked to the customer or
  the employee), so that each holds a real token that the server checks like any other, and the
  server's row scopes are the ones those people would have; so does each integration that reads the
  event stream (``bench-admin-<n>@`` / ``bench-finance-<n>@``: the roles that may read events);
- the written-to products get more stock on hand and the customers a larger credit limit, so that
  no write fails on a business rule.

The tokens are signed with the server's own signing key (the one ``bizgraph serve`` is started
with), carrying exactly the claims the token endpoint would put in them; signing ten thousand of
them through ``/oauth/token`` would only measure its password hashing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import psycopg

from app.auth.keys import load_key_ring
from app.auth.tokens import TokenIssuer
from app.config import Settings
from bench.floor import SESSION
from bench.mutation_setup import CREDIT_LIMIT, LINES, STOCK_BOOST
from bench.report import progress
from bench.workloads import global_id

TOKEN_TTL_SECONDS = 4 * 3600  # longer than any run, within the server's default lifetime cap
CLIENT_ID = "bizgraph-bench"
ORG_WIDE_ROLES = ("admin", "finance", "analyst")  # the dashboards' roles
EVENT_ROLES = ("admin", "finance")  # the roles whose events query sees the orders' events


@dataclass(frozen=True)
class Person:
    """Someone who subscribes: a user of the database and a signed token for it."""

    role: str
    user_id: int
    email: str
    token: str
    customer_id: int | None = None
    employee_id: int | None = None


@dataclass
class People:
    org_id: int
    org_slug: str
    org_wide: dict[str, Person]  # role → the seeded demo user of that role
    customers: list[Person]  # one per subscribed customer
    reps: list[Person]  # one per subscribed account manager
    integrations: list[Person]  # event stream readers, admin and finance in turn
    rep_of: dict[int, int]  # customer id → its account manager's employee id
    product_ids: list[int]


def prepare(
    dsn: str, settings: Settings, customers: int, reps: int, integrations: int, products: int, seed: int
) -> People:
    """Pick the first organization's customers (active, with an account manager) and their account
    managers, give each a user and a token; raise the written-to products' stock and the customers'
    credit."""
    issuer = TokenIssuer(
        load_key_ring(settings.signing_keys),
        issuer=settings.issuer,
        audience=settings.audience,
        ttl_seconds=TOKEN_TTL_SECONDS,
    )
    with psycopg.connect(dsn, **SESSION) as conn:
        org = conn.execute("SELECT id, slug FROM organizations ORDER BY id LIMIT 1").fetchone()
        if org is None:
            raise SystemExit("bench: the database has no organization: run `bizgraph seed` first")
        org_id, slug = org
        conn.execute("SELECT set_config('bizgraph.org_id', %s, false)", (str(org_id),))
        candidates = conn.execute(
            "SELECT c.id, c.account_manager_id FROM customers c JOIN employees e ON e.id = c.account_manager_id"
            " WHERE c.org_id = %s AND c.status = 'active' AND e.status = 'active' ORDER BY md5(c.id::text)",
            (org_id,),
        ).fetchall()
        rng = random.Random(seed)
        # The reps with the most subscribed accounts first: a rep's pipeline then moves with the writes.
        by_rep: dict[int, list[int]] = {}
        for customer_id, rep_id in candidates:
            by_rep.setdefault(rep_id, []).append(customer_id)
        rep_ids = sorted(by_rep, key=lambda rep: (-len(by_rep[rep]), rep))[: reps or None]
        pool = [customer for rep in rep_ids for customer in by_rep[rep]]
        rng.shuffle(pool)
        chosen = pool[:customers] if customers else pool[:1]
        if len(chosen) < customers:
            progress(f"setup: only {len(chosen)} active customers of the chosen reps; subscribers share them")
        rep_of = {customer: rep for rep in rep_ids for customer in by_rep[rep]}
        product_ids = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM products WHERE org_id = %s AND active ORDER BY id LIMIT %s", (org_id, products)
            )
        ]
        if len(product_ids) < LINES:
            raise SystemExit(f"bench: organization {slug} needs ≥ {LINES} active products")
        with conn.transaction():
            conn.execute(
                "UPDATE products SET stock_on_hand = stock_on_hand + %s WHERE id = ANY(%s)", (STOCK_BOOST, product_ids)
            )
            conn.execute(
                "UPDATE customers SET credit_limit = greatest(credit_limit, %s) WHERE id = ANY(%s)",
                (CREDIT_LIMIT, chosen),
            )
            customer_users = _ensure_users(conn, org_id, slug, "customer", chosen)
            rep_users = _ensure_users(conn, org_id, slug, "sales", rep_ids)
            integration_users = {
                role: _ensure_users(conn, org_id, slug, role, list(range(1, integrations + 1))[i :: len(EVENT_ROLES)])
                for i, role in enumerate(EVENT_ROLES)
            }
        demo = dict(
            conn.execute(
                "SELECT roles[1], id FROM users WHERE org_id = %s AND email = ANY(%s)",
                (org_id, [f"{role}@{slug}.example" for role in ORG_WIDE_ROLES]),
            ).fetchall()
        )
    missing = set(ORG_WIDE_ROLES) - set(demo)
    if missing:
        raise SystemExit(f"bench: no demo user for {sorted(missing)} in {slug}: seed the database with `bizgraph seed`")

    def person(role: str, user_id: int, email: str, customer_id: int | None, employee_id: int | None) -> Person:
        token = issuer.for_user(
            user_id=user_id,
            email=email,
            org_id=org_id,
            org_slug=slug,
            roles=[role],
            client_id=CLIENT_ID,
            employee_id=employee_id,
            customer_id=customer_id,
        ).access_token
        return Person(role, user_id, email, token, customer_id, employee_id)

    progress(
        f"setup: {len(chosen)} customers and {len(rep_ids)} account managers of {slug} with users and tokens;"
        f" stock on hand raised by {STOCK_BOOST:,} on {len(product_ids)} products (the bench changes its database)"
    )
    return People(
        org_id,
        slug,
        {role: person(role, demo[role], f"{role}@{slug}.example", None, None) for role in ORG_WIDE_ROLES},
        [person("customer", user_id, email, customer, None) for customer, (user_id, email) in customer_users.items()],
        [person("sales", user_id, email, None, rep) for rep, (user_id, email) in rep_users.items()],
        [
            person(role, user_id, email, None, None)
            for role, users in integration_users.items()
            for user_id, email in users.values()
        ],
        rep_of,
        product_ids,
    )


def _ensure_users(
    conn: psycopg.Connection, org_id: int, slug: str, role: str, linked: list[int]
) -> dict[int, tuple[int, str]]:
    """A ``role`` user linked to each customer (role customer) or employee (role sales), or one per
    number (other roles, linked to nobody): id and email. They have no password: they never sign
    in, they hold the tokens the bench signs."""
    column = {"customer": "customer_id", "sales": "employee_id"}.get(role)
    emails = {pk: f"bench-{role}-{pk}@{slug}.example" for pk in linked}
    if column is None:
        conn.execute(
            "INSERT INTO users (org_id, email, roles) SELECT %s, email, ARRAY[%s] FROM unnest(%s::text[]) AS u(email)"
            " ON CONFLICT (org_id, email) DO NOTHING",
            (org_id, role, list(emails.values())),
        )
    else:
        conn.execute(
            f"INSERT INTO users (org_id, email, roles, {column})"
            " SELECT %s, email, ARRAY[%s], pk FROM unnest(%s::text[], %s::bigint[]) AS u(email, pk)"
            " ON CONFLICT (org_id, email) DO NOTHING",
            (org_id, role, list(emails.values()), list(emails)),
        )
    rows = conn.execute(
        "SELECT email, id FROM users WHERE org_id = %s AND email = ANY(%s)", (org_id, list(emails.values()))
    ).fetchall()
    ids = dict(rows)
    return {pk: (ids[email], email) for pk, email in emails.items()}


def draft_input(people: People, customer_id: int, n: int) -> dict[str, object]:
    """A 5-line draft for ``customer_id``; the lines move along the products from draft to draft."""
    count = len(people.product_ids)
    lines = [
        {"productId": global_id("Product", people.product_ids[(LINES * n + j) % count]), "quantity": 1, "discount": "0"}
        for j in range(LINES)
    ]
    return {"input": {"customerId": global_id("Customer", customer_id), "lines": lines}}


def signing_settings(signing_key: Path | None) -> Settings:
    """The server's settings as far as tokens go: its issuer, audience and signing key (the demo's
    key in the data directory when neither ``--signing-key`` nor BIZGRAPH_SIGNING_KEYS names one)."""
    from dataclasses import replace

    from app.auth.keys import ensure_demo_key

    settings = Settings.from_env()
    if signing_key is not None:
        return replace(settings, signing_keys=(signing_key,))
    if not settings.signing_keys:
        return replace(settings, signing_keys=(ensure_demo_key(settings.data_dir),))
    return settings
