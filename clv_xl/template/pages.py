"""The Start page, the Forecast and Issues sheets (headers only), and the xlwings.conf sheet."""

from __future__ import annotations

from openpyxl.worksheet.hyperlink import Hyperlink

from ..schema import CLIENTS, CONTACTS, SESSIONS
from . import styles
from .inputs import CLIENT_SPARE_ROWS, _protect

#: Headers of the sheets the batch run fills (a later issue writes their rows).
FORECAST_HEADERS = ("Client ID", "Segment", "Expected sessions (12 months)", "P(alive)",
                    "Expected order value", "Forecast CLV (12 months)", "Model")
ISSUES_HEADERS = ("Sheet", "Row", "Column", "Value", "Problem", "Severity")

#: xlwings reads its settings from a sheet of this name: keys in column A, values in B.
XLWINGS_CONF = {"UDF Modules": "clv_xl.udfs"}

SHEET_GUIDE = (
    ("Settings", "Your as-of date, currency, margin, acquisition cost and churn thresholds."),
    (CLIENTS.name, CLIENTS.help),
    (SESSIONS.name, SESSIONS.help),
    (CONTACTS.name, CONTACTS.help),
    ("Segments", "CLV, TLV, clients and the share at risk for each segment."),
    ("Dashboard", "The key figures and charts on one page."),
    ("Forecast", "Model forecasts per client, filled by the batch run (coming)."),
    ("Issues", "Rows the batch run could not use, and why (coming)."),
)

STEPS = (
    "Open Settings: set the as-of date (blank means today), your currency, gross margin and "
    "the default acquisition cost.",
    "Clients: one row per client, in the yellow columns. Client ID must be unique.",
    "Sessions: one row per booking, with its status (Completed, Cancelled, Rescheduled, "
    "Booked). Pick the Client ID from the dropdown.",
    "Contacts: your messages to clients (Out, and whether they replied) and theirs (In).",
    "Read the blue columns of Clients (value, churn risk, main reason, stage), then Segments "
    "and the Dashboard. Everything updates as you type.",
)

NOTES = (
    ("Colours", "Yellow cells are inputs. Blue cells are computed by formulas and locked; grey "
     "columns at the far right of Clients are the intermediate steps (click the + above them "
     "to fold them away)."),
    ("Protection", "Sheets with formulas are protected without a password, so nothing is "
     "overwritten by accident: Review > Unprotect Sheet lifts it. The Clients table has "
     f"{CLIENT_SPARE_ROWS} blank rows ready for new clients; for more, unprotect Clients and "
     "type below the table: it grows and the formulas follow (as they do in Sessions and "
     "Contacts)."),
    ("Formulas", "Every figure is a native formula (SUMIFS, COUNTIFS, MAXIFS): it works in "
     "Excel 2019, Excel 365 and LibreOffice with nothing installed."),
    ("clv-xl functions", "For the extra worksheet functions (=CLV(...), =CHURN_RISK(...), "
     "=CLV_SUMMARY(...)): pip install clv-xl, then xlwings addin install; in the xlwings "
     "ribbon tab click Import Functions. This book already tells xlwings where they are "
     "(hidden sheet xlwings.conf: UDF Modules = clv_xl.udfs)."),
    ("Recompute button", "The button that runs the model forecast into Forecast and Issues "
     "comes with the macro-enabled copy of this book (clv_template.xlsm) in a later release. "
     "Until then: clv-xl summary BOOK.xlsx on the command line."),
)


def add_start(wb) -> None:
    """What the book is for, the steps, links to every sheet, and how to get the extras."""
    ws = wb.create_sheet("Start")
    styles.write(ws, "B1", "Client lifetime value and churn risk", styles.TITLE)
    styles.write(ws, "B2", "For small service businesses: what each client is worth over a "
                 "lifetime, and who is about to leave, and why.", styles.FONT,
                 alignment=styles.WRAP)
    r = 4
    styles.write(ws, f"B{r}", "How to use it", styles.SUBTITLE)
    for i, step in enumerate(STEPS, start=1):
        r += 1
        styles.write(ws, f"A{r}", i, styles.BOLD, alignment=styles.WRAP)
        styles.write(ws, f"B{r}", step, styles.FONT, alignment=styles.WRAP)
        ws.row_dimensions[r].height = 30
    r += 2
    styles.write(ws, f"B{r}", "The sheets", styles.SUBTITLE)
    for sheet, text in SHEET_GUIDE:
        r += 1
        cell = styles.write(ws, f"B{r}", f"{sheet}: {text}", styles.LINK, alignment=styles.WRAP)
        cell.hyperlink = Hyperlink(ref=f"B{r}", location=f"'{sheet}'!A1", display=sheet)
    for title, text in NOTES:
        r += 2
        styles.write(ws, f"B{r}", title, styles.SUBTITLE)
        styles.write(ws, f"B{r + 1}", text, styles.FONT, alignment=styles.WRAP)
        ws.row_dimensions[r + 1].height = 46
        r += 1
    ws.column_dimensions["A"].width = 4
    ws.column_dimensions["B"].width = 100
    ws.sheet_view.showGridLines = False
    styles.fit_to_width(ws)
    _protect(ws)


def add_headers_only(wb, name: str, headers, note: str) -> None:
    """A sheet with a header row for a later batch run to fill."""
    ws = wb.create_sheet(name)
    for j, header in enumerate(headers, start=1):
        cell = ws.cell(1, j, header)
        styles.style_header(cell, "computed")
        ws.column_dimensions[cell.column_letter].width = max(12, len(header) + 4)
    styles.write(ws, "A3", note, styles.NOTE)
    ws.row_dimensions[1].height = 32
    ws.freeze_panes = "A2"


def add_xlwings_conf(wb) -> None:
    """The hidden sheet xlwings reads on Import Functions."""
    ws = wb.create_sheet("xlwings.conf")
    for r, (key, value) in enumerate(XLWINGS_CONF.items(), start=1):
        styles.write(ws, f"A{r}", key)
        styles.write(ws, f"B{r}", value)
    ws.sheet_state = "hidden"
