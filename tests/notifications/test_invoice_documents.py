"""GET /invoices/{id}.pdf: the issued invoice as a PDF, for whoever the policy lets read it."""

from __future__ import annotations

from urllib.parse import quote

from tests.notifications.helpers import (
    assert_pdf_matches,
    execute,
    issue_invoice,
    new_customer,
    pdf_text,
    place_order,
)
from tests.support.auth import bearer, token_for
from tests.support.invoicing import make_order
from tests.support.workflow import gid, pk, sql, token


async def _issued(mail_client, mail_settings, org: str = "acme") -> tuple[str, int, int]:
    """A new customer's placed order, invoiced: (invoice global ID, invoice pk, customer pk)."""
    customer, _ = await new_customer(mail_client, mail_settings, org)
    order = await place_order(mail_client, mail_settings, customer, org, lines=3)
    invoice = await issue_invoice(mail_client, mail_settings, order["id"], org)
    return invoice["id"], pk(invoice["id"], "Invoice"), customer


async def test_an_issued_invoice_renders_its_snapshot_as_pdf(mail_client, mail_settings):
    invoice_gid, invoice_pk, _ = await _issued(mail_client, mail_settings)
    # A product's later change of price must not reach the issued invoice.
    execute(
        mail_settings,
        "UPDATE products SET unit_price = unit_price + 1 WHERE id IN"
        " (SELECT product_id FROM invoice_lines WHERE invoice_id = %s)",
        invoice_pk,
    )
    response = await mail_client.get(
        f"/invoices/{quote(invoice_gid, safe='')}.pdf", headers=bearer(token(mail_settings, "finance"))
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "private, no-store"
    assert response.content.startswith(b"%PDF-")
    text = pdf_text(response.content)
    assert_pdf_matches(text, mail_settings, invoice_pk)
    ((customer_name, org_name),) = sql(
        mail_settings.database_url,
        "SELECT c.name, o.name FROM invoices i JOIN customers c ON c.id = i.customer_id"
        " JOIN organizations o ON o.id = i.org_id WHERE i.id = %s",
        invoice_pk,
    )
    assert customer_name in text and org_name in text
    assert "Köln" in text  # the buyer's address, in Latin-1 as the PDF's fonts have it
    # The seller: the organization's address and tax number.
    assert "100 Market Street" in text and "Boston, MA 02110" in text and "Tax ID: US 12-3456789" in text


async def test_the_number_names_the_invoice_too_and_the_raw_global_id_works(mail_client, mail_settings):
    invoice_gid, invoice_pk, _ = await _issued(mail_client, mail_settings)
    ((number,),) = sql(mail_settings.database_url, "SELECT number FROM invoices WHERE id = %s", invoice_pk)
    headers = bearer(token(mail_settings, "admin"))
    by_number = await mail_client.get(f"/invoices/{number}.pdf", headers=headers)
    by_id = await mail_client.get(f"/invoices/{invoice_gid}.pdf", headers=headers)
    assert by_number.status_code == by_id.status_code == 200
    assert by_number.content == by_id.content  # rendered from the same snapshot, byte for byte


async def test_out_of_scope_draft_and_unknown_invoices_are_not_found(mail_client, mail_settings, mail_app):
    invoice_gid, _, customer = await _issued(mail_client, mail_settings)
    path = f"/invoices/{quote(invoice_gid, safe='')}.pdf"

    async def status(headers: dict[str, str], at: str = path) -> int:
        return (await mail_client.get(at, headers=headers)).status_code

    # Its own customer may read it; another customer, an analyst's ledger view aside, may not.
    own = token_for(mail_app, org_id=1, roles=["customer"], customer_id=customer)
    other = token_for(mail_app, org_id=1, roles=["customer"], customer_id=customer - 1)
    assert await status(bearer(own)) == 200
    assert await status(bearer(other)) == 404
    # Roles that see no invoice at all, and another organization's admin.
    assert await status(bearer(token(mail_settings, "hr"))) == 404
    assert await status(bearer(token(mail_settings, "admin", "globex"))) == 404
    # A sales rep sees the invoices of its own accounts only (this customer has no account manager).
    assert await status(bearer(token(mail_settings, "sales"))) == 404

    draft = sql(
        mail_settings.database_url,
        "INSERT INTO invoices (org_id, order_id, customer_id, status) VALUES (1, %s, %s, 'draft') RETURNING id",
        make_order(mail_settings.database_url, customer_id=customer),
        customer,
    )[0][0]
    admin = bearer(token(mail_settings, "admin"))
    assert await status(admin, f"/invoices/{gid('Invoice', draft)}.pdf") == 404
    assert await status(admin, f"/invoices/{gid('Invoice', 10**12)}.pdf") == 404
    assert await status(admin, "/invoices/INV-1999-999999.pdf") == 404
    # The suffix is the document's type: nothing else is served.
    assert await status(admin, path.replace(".pdf", ".html")) == 404


async def test_bad_ids_and_missing_tokens_are_refused_clearly(mail_client, mail_settings):
    invoice_gid, _, _ = await _issued(mail_client, mail_settings)
    no_token = await mail_client.get(f"/invoices/{invoice_gid}.pdf", headers={"accept": "text/html"})
    assert no_token.status_code == 401
    assert no_token.headers["www-authenticate"].startswith("Bearer")
    admin = bearer(token(mail_settings, "admin"))
    garbled = await mail_client.get("/invoices/not-an-id.pdf", headers=admin)
    assert garbled.status_code == 400
    assert garbled.json()["errors"][0]["extensions"]["code"] == "INVALID_ID"
    wrong_type = await mail_client.get(f"/invoices/{gid('Order', 1)}.pdf", headers=admin)
    assert wrong_type.status_code == 400
    assert "Invoice" in wrong_type.json()["errors"][0]["message"]
    posted = await mail_client.post(f"/invoices/{invoice_gid}.pdf", headers=admin)
    assert posted.status_code == 405


async def test_the_pdf_of_another_organization_is_its_own(mail_client, mail_settings):
    invoice_gid, invoice_pk, _ = await _issued(mail_client, mail_settings, "globex")
    response = await mail_client.get(
        f"/invoices/{quote(invoice_gid, safe='')}.pdf", headers=bearer(token(mail_settings, "admin", "globex"))
    )
    assert response.status_code == 200
    assert_pdf_matches(pdf_text(response.content), mail_settings, invoice_pk)
    acme = await mail_client.get(
        f"/invoices/{quote(invoice_gid, safe='')}.pdf", headers=bearer(token(mail_settings, "admin", "acme"))
    )
    assert acme.status_code == 404
