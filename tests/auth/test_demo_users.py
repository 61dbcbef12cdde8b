"""Given the seeded demo data, then every organization has one sign-in per role, linked to people
who make the role's view interesting, and ``serve --demo`` tells how to sign in as each of them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.auth.passwords import verify_secret
from app.demo import demo_sign_ins, prepare_demo
from app.seed.users import DEMO_PASSWORD, DEMO_ROLES
from tests.support.auth import demo_user
from tests.support.graphql import sql

ORGS = ("acme", "globex")


def test_everyone_signs_in_with_the_demo_password(seeded_url):
    hashes = {h for (h,) in sql(seeded_url, "SELECT DISTINCT password_hash FROM users")}
    assert len(hashes) == 1 and verify_secret(hashes.pop(), DEMO_PASSWORD)


@pytest.mark.parametrize("org", ORGS)
def test_sales_manages_several_customers_who_buy(seeded_url, org):
    sales = demo_user(seeded_url, f"sales@{org}.example")
    [(accounts,)] = sql(
        seeded_url,
        "SELECT count(*) FROM customers c WHERE c.account_manager_id = %s"
        " AND EXISTS (SELECT FROM orders o WHERE o.customer_id = c.id)",
        sales.employee_id,
    )
    assert accounts >= 2


@pytest.mark.parametrize("org", ORGS)
def test_manager_has_reports_two_levels_deep(seeded_url, org):
    manager = demo_user(seeded_url, f"manager@{org}.example")
    [(depth,)] = sql(
        seeded_url,
        """
        WITH RECURSIVE team(id, depth) AS (
            SELECT id, 1 FROM employees WHERE manager_id = %s
            UNION ALL SELECT e.id, t.depth + 1 FROM employees e JOIN team t ON e.manager_id = t.id)
        SELECT max(depth) FROM team""",
        manager.employee_id,
    )
    assert depth >= 2


@pytest.mark.parametrize("org", ORGS)
def test_employee_has_no_reports_and_is_active(seeded_url, org):
    employee = demo_user(seeded_url, f"employee@{org}.example")
    [(reports, status)] = sql(
        seeded_url,
        "SELECT (SELECT count(*) FROM employees WHERE manager_id = e.id), status FROM employees e WHERE e.id = %s",
        employee.employee_id,
    )
    assert reports == 0 and status == "active"


@pytest.mark.parametrize("org", ORGS)
def test_customer_has_orders_and_invoices(seeded_url, org):
    customer = demo_user(seeded_url, f"customer@{org}.example")
    [(orders, invoices)] = sql(
        seeded_url,
        "SELECT (SELECT count(*) FROM orders WHERE customer_id = %s),"
        " (SELECT count(*) FROM invoices WHERE customer_id = %s)",
        customer.customer_id,
        customer.customer_id,
    )
    assert orders > 0 and invoices > 0


def test_links_stay_inside_the_users_organization(seeded_url):
    for org in ORGS:
        for role in DEMO_ROLES:
            user = demo_user(seeded_url, f"{role}@{org}.example")
            assert user.org_slug == org and user.roles == frozenset({role})
            assert (user.employee_id is not None) == (role in ("sales", "manager", "employee"))
            assert (user.customer_id is not None) == (role == "customer")


async def test_serve_demo_prints_a_curl_line_per_user_and_an_admin_token(demo_settings, app):
    text = demo_sign_ins(demo_settings, host="127.0.0.1", port=8000)
    curls = [line for line in text.splitlines() if "curl" in line]
    assert len(curls) == len(ORGS) * len(DEMO_ROLES)
    assert all("http://127.0.0.1:8000/oauth/token" in line and f"password={DEMO_PASSWORD}" in line for line in curls)
    assert any("username=customer@globex.example" in line for line in curls)
    token = text.splitlines()[-1].strip()
    principal = await app.state.auth.authenticator.authenticate(f"Bearer {token}")
    assert principal.email == "admin@acme.example" and principal.roles == frozenset({"admin"})


def test_prepare_demo_makes_a_key_and_names_the_real_port(demo_settings, tmp_path):
    settings, embedded = prepare_demo(replace(demo_settings, signing_keys=(), data_dir=tmp_path), port=9123)
    assert embedded is None  # DATABASE_URL was set
    assert settings.signing_keys == (tmp_path / "keys" / "demo-signing-key.pem",)
    assert settings.issuer == "http://127.0.0.1:9123" and settings.demo
