"""An invoice's or payout statement's document (``domain.invoices``) as CSV and as PDF.

Both show what the document holds and nothing more: a statement's lines carry no buyer,
order or price because its document has none. The PDF is drawn with fpdf2's core fonts
(Helvetica, Latin-1): a character outside Latin-1 (in a party's name or a note) is shown as
``?``; the CSV keeps it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a PDF is drawn: fpdf2 adds a second to every start-up
    from fpdf import FPDF

__all__ = [
    "document_csv",
    "document_name",
    "document_pdf",
    "headline",
    "line_columns",
    "total_rows",
]

_KIND_TITLES = {"invoice": "Invoice", "statement": "Payout statement"}
_LINE_TITLES = {
    "date": "Date",
    "kind": "Kind",
    "lead_id": "Lead",
    "order_id": "Order",
    "campaign_id": "Campaign",
    "amount": "Amount",
    "note": "Note",
}
_TOTAL_TITLES = {
    "leads": "Leads",
    "returns": "Returns",
    "chargebacks": "Chargebacks",
    "charges": "Charges (leads bought)",
    "credits": "Credits (returns)",
    "topups": "Top-ups and payments",
    "earned": "Earned (leads sold)",
    "charged_back": "Charged back",
    "adjustments": "Adjustments",
    "due": "Total due for the period",
    "payable": "Total payable",
    "opening": "Opening balance",
    "movement": "Balance movement",
    "closing": "Closing balance",
}


def headline(document: dict[str, Any]) -> tuple[str, str]:
    """The figure a reader looks for first: a supplier's total payable; a prepaid buyer's
    closing balance; any other buyer's total due for the period."""
    totals = document["totals"]
    if document["kind"] == "statement":
        return _TOTAL_TITLES["payable"], str(totals["payable"])
    if document.get("account_kind") == "prepaid":
        return _TOTAL_TITLES["closing"], str(totals["closing"])
    return _TOTAL_TITLES["due"], str(totals["due"])


def line_columns(document: dict[str, Any]) -> list[str]:
    """A document's line columns: a buyer's order, a supplier's own campaign."""
    party = "order_id" if document["kind"] == "invoice" else "campaign_id"
    return ["date", "kind", "lead_id", party, "amount", "note"]


def total_rows(document: dict[str, Any]) -> list[tuple[str, str]]:
    """The totals as (title, value), in the order a reader wants them."""
    totals = document["totals"]
    return [(_TOTAL_TITLES.get(name, name), str(value)) for name, value in totals.items()]


def document_name(document: dict[str, Any], suffix: str) -> str:
    """A file name: the number, or ``draft-<party>-<first>-<last>`` for a draft."""
    if document["number"]:
        stem = str(document["number"])
    else:
        period = document["period"]
        stem = f"draft-{document['party']['kind']}-{document['party']['id']}"
        stem += f"-{period['first']}-{period['last']}"
    return f"{stem}.{suffix}"


def document_csv(document: dict[str, Any]) -> str:
    """The lines as CSV (``date, kind, lead_id, order_id | campaign_id, amount, note,
    carried``), then a blank row and the totals as ``total, <name>, <amount>``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    columns = line_columns(document)
    writer.writerow([*columns, "carried"])
    for line in document["lines"]:
        writer.writerow([_cell(line.get(c)) for c in columns] + [str(line["carried"]).lower()])
    writer.writerow([])
    for name, value in document["totals"].items():
        writer.writerow(["total", name, str(value)])
    return out.getvalue()


def document_pdf(document: dict[str, Any]) -> bytes:
    """The document as a one-column A4 PDF: heading, party and period, totals, lines."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title(_latin(_heading(document)))
    pdf.set_creator("pingtree")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=16)
    _text_line(pdf, _heading(document), 9)
    pdf.set_font("Helvetica", size=10)
    party, period = document["party"], document["period"]
    _text_line(pdf, f"{party['kind'].capitalize()}: {party['name']} ({party['id']})")
    _text_line(
        pdf, f"Period: {period['first']} to {period['last']} ({period['time_zone']}), inclusive"
    )
    if document["issued_at"]:
        _text_line(pdf, f"Issued {document['issued_at']} by {document['issued_by']}")
    else:
        _text_line(pdf, "Draft: not issued; its figures may still change.")
    if document.get("account_kind"):
        _text_line(pdf, f"Account: {document['account_kind']}")
    pdf.ln(2)
    pdf.set_font("Helvetica", style="B", size=12)
    title, value = headline(document)
    _text_line(pdf, f"{title}: {value}", 8)
    pdf.ln(2)
    _table(pdf, ["Total", "Amount"], total_rows(document), widths=(2, 1))
    pdf.ln(4)
    columns = line_columns(document)
    rows = [
        [_cell(line.get(c)) + (" *" if c == "date" and line["carried"] else "") for c in columns]
        for line in document["lines"]
    ]
    if rows:
        _table(pdf, [_LINE_TITLES[c] for c in columns], rows, widths=(2, 2, 6, 3, 2, 4))
        if any(line["carried"] for line in document["lines"]):
            pdf.set_font("Helvetica", size=8)
            _text_line(pdf, "* dated before the period, on no earlier document", 5)
    else:
        _text_line(pdf, "No entries in this period.")
    return bytes(pdf.output())


def _heading(document: dict[str, Any]) -> str:
    title = _KIND_TITLES[document["kind"]]
    return f"{title} {document['number']}" if document["number"] else f"{title} (draft)"


def _text_line(pdf: FPDF, text: str, height: float = 6) -> None:
    from fpdf.enums import XPos, YPos

    pdf.cell(0, height, _latin(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _table(
    pdf: FPDF, head: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[int]
) -> None:
    pdf.set_font("Helvetica", size=8)
    with pdf.table(col_widths=tuple(widths), text_align="LEFT", line_height=5) as table:
        heading = table.row()
        for title in head:
            heading.cell(_latin(title))
        for values in rows:
            row = table.row()
            for value in values:
                row.cell(_latin(value))
    pdf.set_font("Helvetica", size=10)


def _latin(text: str) -> str:
    """What the core fonts can draw: Latin-1, anything else as ``?``."""
    return text.encode("latin-1", "replace").decode("latin-1")


def _cell(value: object) -> str:
    return "" if value is None else str(value)
