"""The Start page, the Forecast and Issues sheets (filled by the batch run), and xlwings.conf."""

from __future__ import annotations

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink

from ..book.schema import CLIENTS, CONTACTS, SESSIONS
from . import styles
from .inputs import CLIENT_SPARE_ROWS, _protect

#: The Forecast and Issues layout is declared in clv_xl.book.layout (no openpyxl there, so the
#: batch run imports it in xlwings Lite too).
from ..book.layout import (FORECAST_COLUMNS, FORECAST_FIGURE_ROW, FORECAST_FIGURES,  # noqa: E402,F401
                           FORECAST_HEADER_ROW, FORECAST_HEADERS, FORECAST_STATUS_CELL,
                           FORECAST_TEXT_WIDTHS, ISSUES_HEADERS, STATUS_SUMMARY_END,
                           TRACKING_COLUMNS, TRACKING_FIRST_COLUMN, TRACKING_NOTE_ROW,
                           TRACKING_TITLE, TRACKING_TITLE_ROW)
_STATUS = f"Forecast!{FORECAST_STATUS_CELL}"
#: Start shows the first sentence of the last recompute's status line (when, what was read,
#: rows with issues; all of it if that sentence is not found) and where the rest is: the
#: whole line, with how churn risk and the forecast were made, is 3-8 lines long.
STATUS_FORMULA = (
    f'=IF({_STATUS}="","Not recomputed yet: press Recompute (clv_template.xlsm) or run '
    f'clv-xl recompute BOOK.xlsx",IFERROR(LEFT({_STATUS},FIND("{STATUS_SUMMARY_END}",{_STATUS})'
    f'+{len(STATUS_SUMMARY_END) - 1})&" How churn risk and the forecast were made: Forecast '
    f'sheet, cell {FORECAST_STATUS_CELL}.",{_STATUS}))')
#: Start's text in characters per line of column B (Carlito 11 in a width of 100 holds about
#: 115); a row gets a line of height for each started line.
CHARS_PER_LINE = 100
LINE_HEIGHT = 15
#: Row 3 holds two lines of the status (10 pt): up to 1,000,000s of rows read and issues.
STATUS_HEIGHT = 30


def text_height(text: str) -> float:
    """The row height (points) that shows ``text`` wrapped in Start's column B."""
    return LINE_HEIGHT * -(-len(text) // CHARS_PER_LINE)

#: xlwings reads its settings from a sheet of this name: keys in column A, values in B.
XLWINGS_CONF = {"UDF Modules": "clv_xl.excel.udfs"}

SHEET_GUIDE = (
    ("Settings", "Your as-of date, currency, margin, acquisition cost and churn thresholds."),
    (CLIENTS.name, CLIENTS.help),
    (SESSIONS.name, SESSIONS.help),
    (CONTACTS.name, CONTACTS.help),
    ("Segments", "CLV, TLV, clients and the share at risk for each segment."),
    ("Dashboard", "The key figures and charts on one page."),
    ("Forecast", "Today's figures and the model forecast per client, filled by Recompute."),
    ("Issues", "Rows Recompute could not use or found suspicious: sheet, row, column, why."),
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
     "type below the table: in Excel it grows and the formulas follow. Sessions and Contacts "
     "rows count wherever you type them."),
    ("Formulas", "Every figure is a native formula (FREQUENCY, MATCH, INDEX, SUMIF): it works "
     "in Excel 2019, Excel 365 and LibreOffice with nothing installed. The totals per client "
     "are computed once for all clients on a hidden sheet, Calc."),
    ("clv-xl functions", "For the extra worksheet functions (=CLV(...), =CHURN_RISK(...), "
     "=CLV_SUMMARY(...)), once per computer: in a command prompt, in the clv-xl folder, "
     "pip install . then xlwings addin install. In Excel: File > Options > Trust Center > "
     "Trust Center Settings > Macro Settings, tick Trust access to the VBA project object "
     "model. Then in this book saved as .xlsm (or clv_template.xlsm): Alt+F11, Tools > "
     "References, tick xlwings, OK; and in the xlwings ribbon tab click Import Functions. This "
     "book already tells xlwings where they are (hidden sheet xlwings.conf: UDF Modules = "
     "clv_xl.excel.udfs)."),
    ("Mac or Excel on the web", "The same functions and Recompute run in the free xlwings Lite "
     "add-in (Home > Add-ins > xlwings): clv-xl lite writes the code to paste into it; "
     "docs/lite.md in the clv-xl project has the three steps."),
    ("Recompute button", "In the macro-enabled copy of this book (clv_template.xlsm), the "
     "Recompute button here and on the Dashboard reads Clients, Sessions and Contacts and fills "
     "Forecast and Issues; progress shows in the status bar. It needs Python once per computer: "
     "in a command prompt, in the clv-xl folder, pip install . then xlwings addin install, "
     "then restart Excel and enable macros. If the add-in is missing, the button says so in a "
     "message box and changes nothing. Without Excel macros: clv-xl recompute BOOK.xlsx on "
     "the command line."),
)


def add_start(wb) -> None:
    """What the book is for, the steps, links to every sheet, and how to get the extras."""
    ws = wb.create_sheet("Start")
    styles.write(ws, "B1", "Client lifetime value and churn risk", styles.TITLE)
    styles.write(ws, "B2", "For small service businesses: what each client is worth over a "
                 "lifetime, and who is about to leave, and why.", styles.FONT,
                 alignment=styles.WRAP)
    styles.write(ws, "B3", STATUS_FORMULA, styles.NOTE, alignment=styles.WRAP)
    ws.row_dimensions[3].height = STATUS_HEIGHT
    r = 4
    styles.write(ws, f"B{r}", "How to use it", styles.SUBTITLE)
    for i, step in enumerate(STEPS, start=1):
        r += 1
        styles.write(ws, f"A{r}", i, styles.BOLD, alignment=styles.WRAP)
        styles.write(ws, f"B{r}", step, styles.FONT, alignment=styles.WRAP)
        ws.row_dimensions[r].height = max(30, text_height(step))
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
        ws.row_dimensions[r + 1].height = max(46, text_height(text))
        r += 1
    ws.column_dimensions["A"].width = 4
    ws.column_dimensions["B"].width = 100
    ws.sheet_view.showGridLines = False
    styles.fit_to_width(ws)
    _protect(ws)


def add_forecast(wb) -> None:
    """The Forecast sheet: title, an empty status line, the figure labels, the header, and one
    styled empty client row whose cell formats the batch run reuses for every client row."""
    ws = wb.create_sheet("Forecast")
    styles.write(ws, "A1", "Forecast", styles.TITLE)
    styles.write(ws, FORECAST_STATUS_CELL, None, styles.NOTE)
    for i, (label, fmt) in enumerate(FORECAST_FIGURES):
        r = FORECAST_FIGURE_ROW + i
        styles.write(ws, f"A{r}", label, styles.BOLD)
        styles.write(ws, f"B{r}", None, styles.BOLD,
                     number_format=fmt or "General", fill=styles.KPI_FILL, border=styles.BOX)
    _table_header(ws, FORECAST_COLUMNS, FORECAST_HEADER_ROW)
    for header, width in FORECAST_TEXT_WIDTHS.items():
        letter = get_column_letter(FORECAST_HEADERS.index(header) + 1)
        ws.column_dimensions[letter].width = width
    ws.column_dimensions["A"].width = 36
    ws.freeze_panes = f"B{FORECAST_HEADER_ROW + 1}"
    _tracking_header(ws)


def _tracking_header(ws) -> None:
    """The styles of the tracking table right of the client table (the batch run fills it and
    the Dashboard's tracking chart draws it): title, note, header and the first row's formats."""
    letter = ws.cell(1, TRACKING_FIRST_COLUMN).column_letter
    styles.write(ws, f"{letter}{TRACKING_TITLE_ROW}", TRACKING_TITLE, styles.SUBTITLE)
    styles.write(ws, f"{letter}{TRACKING_NOTE_ROW}", None, styles.NOTE)
    for j, (header, fmt) in enumerate(TRACKING_COLUMNS, start=TRACKING_FIRST_COLUMN):
        cell = ws.cell(FORECAST_HEADER_ROW, j, header)
        styles.style_header(cell, "computed")
        body = ws.cell(FORECAST_HEADER_ROW + 1, j)
        body.font = styles.FONT
        body.number_format = fmt
        ws.column_dimensions[cell.column_letter].width = 14


def add_issues(wb) -> None:
    """The Issues sheet: the header and one styled empty row."""
    ws = wb.create_sheet("Issues")
    _table_header(ws, [(h, "0" if h == "Row" else None) for h in ISSUES_HEADERS], 1)
    for letter, width in zip("ABCDEF", (12, 8, 16, 24, 60, 10)):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"


def _table_header(ws, columns, row: int) -> None:
    for j, (header, fmt) in enumerate(columns, start=1):
        cell = ws.cell(row, j, header)
        styles.style_header(cell, "computed")
        ws.column_dimensions[cell.column_letter].width = max(12, min(len(header) + 4, 22))
        body = ws.cell(row + 1, j)
        body.font = styles.FONT
        if fmt:
            body.number_format = fmt
    ws.row_dimensions[row].height = 32


def add_xlwings_conf(wb) -> None:
    """The hidden sheet xlwings reads on Import Functions."""
    ws = wb.create_sheet("xlwings.conf")
    for r, (key, value) in enumerate(XLWINGS_CONF.items(), start=1):
        styles.write(ws, f"A{r}", key)
        styles.write(ws, f"B{r}", value)
    ws.sheet_state = "hidden"
