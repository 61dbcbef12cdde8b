"""Business documents rendered from the database: the invoice PDF.

Core, so the HTTP route (app/http/invoice_documents.py) and the email dispatcher
(app/notifications) render the very same document.
"""

from app.documents.invoice import InvoiceDocument, InvoiceLineItem, Party, load_invoice_document
from app.documents.pdf import render_invoice_pdf

__all__ = ["InvoiceDocument", "InvoiceLineItem", "Party", "load_invoice_document", "render_invoice_pdf"]
