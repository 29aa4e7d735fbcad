"""The layout of the sheets the batch run writes (Forecast, Issues), and the number formats.

Plain data, no openpyxl: the template builder (:mod:`clv_xl.template.pages`) draws these sheets
from it and the batch run (:mod:`clv_xl.batch.outputs`, every door, xlwings Lite's included)
fills them by it.
"""

from __future__ import annotations

DATE_FORMAT = "yyyy-mm-dd"
MONEY_FORMAT = "#,##0.00"
COUNT_FORMAT = "0"
NUMBER_FORMAT = "0.00"
PERCENT_FORMAT = "0%"
MONTH_FORMAT = "mmm yyyy"

#: The Forecast sheet, filled by the batch run (``clv-xl recompute`` or the Recompute button):
#: A1 the title, A2 the status line of the last recompute, the figures from row
#: FORECAST_FIGURE_ROW (label in A, value in B), then the header at FORECAST_HEADER_ROW and one
#: row per client. Each entry: (header, number format or None for text).
FORECAST_COLUMNS = (
    ("Client ID", None), ("Name", None), ("Segment", None), ("Stage", None),
    ("Churn risk", NUMBER_FORMAT), ("Risk band", None), ("Main reason", None),
    ("Revenue", MONEY_FORMAT), ("CLV", MONEY_FORMAT), ("TLV", MONEY_FORMAT),
    ("P(alive)", PERCENT_FORMAT), ("1 − P(alive)", PERCENT_FORMAT),
    ("P(no purchase, 12 months)", PERCENT_FORMAT),
    ("Expected sessions (12 months)", NUMBER_FORMAT),
    ("Expected order value", MONEY_FORMAT), ("Model CLV (12 months)", MONEY_FORMAT),
)
FORECAST_HEADERS = tuple(header for header, _ in FORECAST_COLUMNS)
#: Widths (in characters) of the Forecast's text columns, for the values they hold: names up
#: to 26 characters (the demo's longest is 20), "No warning signs", "Prospect". Client ID is
#: column A, as wide as the figure labels above it (an e-mail address fits).
FORECAST_TEXT_WIDTHS = {"Name": 28, "Segment": 16, "Stage": 11, "Risk band": 11,
                        "Main reason": 19}
#: The figures of the Forecast sheet (label, number format); the Dashboard refers to them.
FORECAST_FIGURES = (
    ("Clients in the forecast", COUNT_FORMAT),
    ("Clients likely active (P(alive) >= 50%)", COUNT_FORMAT),
    ("Expected sessions, next 12 months", NUMBER_FORMAT),
    ("Expected revenue, next 12 months", MONEY_FORMAT),
    ("Model CLV, next 12 months (total)", MONEY_FORMAT),
    ("Model", None),
)
FORECAST_STATUS_CELL = "A2"
#: The status line's first sentence (when, what was read, rows with issues) ends with this;
#: Start shows that sentence, the models' details stay on the Forecast sheet.
STATUS_SUMMARY_END = "with issues."
FORECAST_FIGURE_ROW = 4
FORECAST_HEADER_ROW = FORECAST_FIGURE_ROW + len(FORECAST_FIGURES) + 1
ISSUES_HEADERS = ("Sheet", "Row", "Column", "Value", "Problem", "Severity")

#: The tracking table on the Forecast sheet, right of the client table (one blank column
#: between): the purchase model's cumulative repeat sessions against the actual ones, at
#: TRACKING_ROWS dates over the book's history (a fixed number: the Dashboard's chart over it
#: then never has a blank tail). Its header is on the client table's header row, a title and
#: a sentence on what the lines show in the two rows above it. The model is split in two
#: columns, the part it was fitted on and the holdout it forecast (the last fitted date is in
#: both, so the lines join); the chart draws them as two lines.
TRACKING_COLUMNS = (
    ("Date", DATE_FORMAT), ("Actual repeat sessions (cumulative)", COUNT_FORMAT),
    ("Model, fitted period", NUMBER_FORMAT), ("Model, holdout forecast", NUMBER_FORMAT),
)
TRACKING_HEADERS = tuple(header for header, _ in TRACKING_COLUMNS)
TRACKING_FIRST_COLUMN = len(FORECAST_COLUMNS) + 2  # 1-based: R
TRACKING_ROWS = 60
TRACKING_TITLE = "Does the model track reality? Cumulative repeat sessions"
TRACKING_TITLE_ROW = FORECAST_HEADER_ROW - 2
TRACKING_NOTE_ROW = FORECAST_HEADER_ROW - 1
