"""``GET /invoices/{id}.pdf``: an issued invoice as a PDF, for whoever may read it.

The bearer token is checked as for ``/graphql`` (the gate in front of this route
puts the principal on the request). ``{id}`` is the invoice's global ID (as
GraphQL gives it, percent-encoded or not) or its number (``INV-2026-000042``).
The policy table decides, as for a query: an invoice out of the principal's
scope, a draft, or one that does not exist are all 404 ``NOT_FOUND``, so the
answer tells nothing about invoices the principal may not see; an ID of no form
is 400 ``INVALID_ID``.
"""

from __future__ import annotations

from urllib.parse import unquote

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.auth.principal import Principal
from app.documents import render_invoice_pdf
from app.errors import BadUserInput
from app.http.bearer_gate import RequireBearerToken
from app.http.errors import error_response
from app.http.request_id import request_id_of
from resolvers.invoices.document import invoice_document

SUFFIX = ".pdf"


async def invoice_pdf(request: Request) -> Response:
    request_id = request_id_of(request.scope)
    principal: Principal = request.state.principal
    raw = unquote(request.path_params["reference"])
    if not raw.endswith(SUFFIX):
        return error_response(404, "NOT_FOUND", "no such document: invoices are at /invoices/{id}.pdf", request_id)
    try:
        document = await invoice_document(request.app.state.database, principal, raw[: -len(SUFFIX)])
    except BadUserInput as refusal:
        return error_response(400, refusal.code, refusal.message, request_id)
    if document is None:
        return error_response(404, "NOT_FOUND", "no issued invoice with this ID", request_id)
    # Rendering is CPU work of a few milliseconds; it runs on the loop like JSON does.
    body = render_invoice_pdf(document)
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "content-disposition": f'inline; filename="{document.number}.pdf"',
            # The document carries personal and financial data: no shared cache keeps it.
            "cache-control": "private, no-store",
        },
    )


def invoice_document_routes() -> list[Route]:
    # ``path``: a global ID's base64 may hold "/".
    return [
        Route(
            "/invoices/{reference:path}",
            invoice_pdf,
            methods=["GET"],
            middleware=[Middleware(RequireBearerToken, graphiql_page=False)],
        )
    ]
