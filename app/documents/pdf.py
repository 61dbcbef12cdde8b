"""The invoice as a PDF, drawn with fpdf2 (README "Invoice documents" says why that library).

One A4 page per 25-odd lines: a band in the brand's colour with the logo text,
seller and invoice facts, the buyer, the lines (their header repeated on every
page), then the totals, what was paid and what is still due. The PDF's own
fonts (Helvetica) need no font file on the machine; they cover Latin-1, so a
character outside it is printed as its closest Latin-1 spelling (``Ł`` as ``L``),
or ``?`` when it has none.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from decimal import Decimal

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from app.documents.invoice import InvoiceDocument, InvoiceLineItem, Party
from app.documents.money import amount, money, percent

FONT = "Helvetica"
MARGIN = 15.0
WIDTH = 210.0 - 2 * MARGIN
# The line table's columns: title, width in mm, alignment.
COLUMNS: tuple[tuple[str, float, str], ...] = (
    ("#", 8, "R"),
    ("SKU", 26, "L"),
    ("Description", 56, "L"),
    ("Qty", 12, "R"),
    ("Unit price", 22, "R"),
    ("Discount", 18, "R"),
    ("Tax", 14, "R"),
    ("Amount", 24, "R"),
)
ROW = 6.0
STATUS_NOTES = {
    "paid": "PAID",
    "void": "VOID - nothing is owed on this invoice",
    "overdue": "OVERDUE",
    "partially_paid": "PARTIALLY PAID",
}


def latin1(text: str) -> str:
    """``text`` in the characters the PDF's standard fonts have."""
    try:
        text.encode("latin-1")
        return text
    except UnicodeEncodeError:
        pass
    out = []
    for char in text:
        if ord(char) < 256:
            out.append(char)
            continue
        base = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode("latin-1")
        out.append(base or {"Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "€": "EUR", "–": "-", "—": "-"}.get(char, "?"))
    return "".join(out)


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


class _InvoicePdf(FPDF):
    def __init__(self, document: InvoiceDocument) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.document = document
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(auto=True, margin=20)
        self.set_title(latin1(f"Invoice {document.number}"))
        self.set_author(latin1(document.seller.name))
        # The issue moment makes the file the same bytes every time it is rendered.
        self.set_creation_date(dt.datetime.combine(document.issued_on, dt.time(), dt.UTC))

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FONT, "", 8)
        self.set_text_color(110, 110, 110)
        note = f"{self.document.seller.name} - invoice {self.document.number} - page {self.page_no()}/{{nb}}"
        self.cell(0, 5, latin1(note), align="C")

    def text_cell(self, width: float, text: str, *, style: str = "", size: float = 9, align: str = "L") -> None:
        self.set_font(FONT, style, size)
        self.cell(width, ROW, latin1(text), align=align, new_x=XPos.RIGHT, new_y=YPos.TOP)

    def line_break(self, height: float = ROW) -> None:
        self.ln(height)


def render_invoice_pdf(document: InvoiceDocument) -> bytes:
    pdf = _InvoicePdf(document)
    pdf.add_page()
    _band(pdf, document)
    _parties(pdf, document)
    _lines(pdf, document)
    _totals(pdf, document)
    _closing(pdf, document)
    return bytes(pdf.output())


def _band(pdf: _InvoicePdf, document: InvoiceDocument) -> None:
    pdf.set_fill_color(*_rgb(document.brand_color))
    pdf.rect(0, 0, 210, 28, style="F")
    pdf.set_xy(MARGIN, 9)
    pdf.set_text_color(255, 255, 255)
    pdf.set_font(FONT, "B", 18)
    pdf.cell(WIDTH / 2, 10, latin1(document.brand_logo_text), new_x=XPos.RIGHT, new_y=YPos.TOP)
    pdf.set_font(FONT, "B", 16)
    pdf.cell(WIDTH / 2, 10, "INVOICE", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.set_y(36)


def _party_lines(party: Party) -> list[str]:
    lines = [*party.address]
    if party.tax_id:
        lines.append(f"Tax ID: {party.tax_id}")
    return lines


def _parties(pdf: _InvoicePdf, document: InvoiceDocument) -> None:
    top = pdf.get_y()
    pdf.text_cell(WIDTH / 2, document.seller.name, style="B", size=11)
    pdf.line_break()
    for line in _party_lines(document.seller):
        pdf.text_cell(WIDTH / 2, line)
        pdf.line_break(5)
    left_bottom = pdf.get_y()

    facts = [
        ("Invoice number", document.number),
        ("Order", document.order_number),
        ("Issue date", document.issued_on.isoformat()),
        ("Due date", document.due_on.isoformat() if document.due_on else "-"),
    ]
    pdf.set_y(top)
    for label, value in facts:
        pdf.set_x(MARGIN + WIDTH / 2)
        pdf.text_cell(WIDTH / 4, label, size=9)
        pdf.text_cell(WIDTH / 4, value, style="B", size=9, align="R")
        pdf.line_break()
    note = STATUS_NOTES.get(document.status)
    if note:
        pdf.set_x(MARGIN + WIDTH / 2)
        pdf.set_text_color(*_rgb(document.brand_color))
        pdf.text_cell(WIDTH / 2, note, style="B", size=10, align="R")
        pdf.set_text_color(0, 0, 0)
        pdf.line_break()

    pdf.set_y(max(left_bottom, pdf.get_y()) + 6)
    pdf.text_cell(WIDTH, "Bill to", style="B", size=8)
    pdf.line_break(5)
    pdf.text_cell(WIDTH, document.buyer.name, style="B", size=11)
    pdf.line_break()
    for line in _party_lines(document.buyer):
        pdf.text_cell(WIDTH, line)
        pdf.line_break(5)
    pdf.line_break(6)


def _table_header(pdf: _InvoicePdf, document: InvoiceDocument) -> None:
    pdf.set_fill_color(*_rgb(document.brand_color))
    pdf.set_text_color(255, 255, 255)
    pdf.set_font(FONT, "B", 8.5)
    for title, width, align in COLUMNS:
        pdf.cell(width, ROW + 1, title, align=align, fill=True, new_x=XPos.RIGHT, new_y=YPos.TOP)
    pdf.ln(ROW + 1)
    pdf.set_text_color(0, 0, 0)


def _row(line: InvoiceLineItem) -> tuple[str, ...]:
    return (
        str(line.line_no),
        line.sku,
        line.description,
        str(line.quantity),
        amount(line.unit_price),
        amount(line.discount) if line.discount else "",
        percent(line.tax_rate),
        amount(line.line_total),
    )


def _fit(pdf: _InvoicePdf, text: str, width: float) -> str:
    """``text`` cut with an ellipsis to fit the column (a description may be long)."""
    text = latin1(text)
    if pdf.get_string_width(text) <= width - 2:
        return text
    while text and pdf.get_string_width(text + "...") > width - 2:
        text = text[:-1]
    return text + "..."


def _lines(pdf: _InvoicePdf, document: InvoiceDocument) -> None:
    _table_header(pdf, document)
    pdf.set_draw_color(220, 220, 220)
    for index, line in enumerate(document.lines):
        if pdf.will_page_break(ROW):
            pdf.add_page()
            _table_header(pdf, document)
        pdf.set_fill_color(245, 245, 245)
        pdf.set_font(FONT, "", 8.5)
        for (_, width, align), text in zip(COLUMNS, _row(line), strict=True):
            pdf.cell(width, ROW, _fit(pdf, text, width), align=align, fill=index % 2 == 1, new_x=XPos.RIGHT)
        pdf.ln(ROW)
    pdf.ln(3)


def _totals(pdf: _InvoicePdf, document: InvoiceDocument) -> None:
    rows: list[tuple[str, Decimal, bool]] = [
        ("Subtotal", document.subtotal, False),
        ("Tax", document.tax, False),
        ("Total", document.total, True),
        ("Amount paid", document.amount_paid, False),
        ("Amount due", document.amount_due, True),
    ]
    if pdf.will_page_break(ROW * len(rows)):
        pdf.add_page()
    for label, value, strong in rows:
        pdf.set_x(MARGIN + WIDTH - 80)
        style = "B" if strong else ""
        pdf.text_cell(40, label, style=style, size=10)
        pdf.text_cell(40, money(value, document.currency), style=style, size=10, align="R")
        pdf.line_break()


def _closing(pdf: _InvoicePdf, document: InvoiceDocument) -> None:
    pdf.ln(6)
    pdf.set_font(FONT, "", 9)
    if document.status == "void":
        text = "This invoice was voided; nothing is owed on it."
    elif document.amount_due > 0 and document.due_on is not None:
        text = (
            f"Please pay {money(document.amount_due, document.currency)} by {document.due_on.isoformat()}, "
            f"quoting {document.number}."
        )
    else:
        text = "Paid in full. Thank you."
    pdf.multi_cell(WIDTH, 5, latin1(text))
