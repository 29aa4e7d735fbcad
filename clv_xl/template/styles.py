"""Fonts, fills and number formats of the template: inputs look like inputs, results do not.

Every cell the builder writes gets Calibri explicitly (LibreOffice renders it with the
metric-compatible Carlito), so column widths fit on both.
"""

from __future__ import annotations

from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side

from ..book.schema import Kind

FONT_NAME = "Calibri"

FONT = Font(name=FONT_NAME, size=11)
BOLD = Font(name=FONT_NAME, size=11, bold=True)
HEADER_FONT = Font(name=FONT_NAME, size=11, bold=True, color="FFFFFF")
TITLE = Font(name=FONT_NAME, size=18, bold=True, color="1F3864")
SUBTITLE = Font(name=FONT_NAME, size=13, bold=True, color="1F3864")
NOTE = Font(name=FONT_NAME, size=10, italic=True, color="595959")
LINK = Font(name=FONT_NAME, size=11, color="0563C1", underline="single")
KPI = Font(name=FONT_NAME, size=16, bold=True, color="1F3864")

#: Input cells: pale yellow, the usual "type here" colour.
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
#: Computed cells: pale blue-grey, locked.
COMPUTED_FILL = PatternFill("solid", fgColor="DDEBF7")
HELPER_FILL = PatternFill("solid", fgColor="EDEDED")
INPUT_HEADER_FILL = PatternFill("solid", fgColor="BF8F00")
COMPUTED_HEADER_FILL = PatternFill("solid", fgColor="2F5597")
HELPER_HEADER_FILL = PatternFill("solid", fgColor="7F7F7F")
KPI_FILL = PatternFill("solid", fgColor="F2F2F2")

THIN = Side(style="thin", color="BFBFBF")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)

UNLOCKED = Protection(locked=False)
LOCKED = Protection(locked=True)

WRAP = Alignment(wrap_text=True, vertical="top")
MIDDLE = Alignment(vertical="center")
MIDDLE_WRAP = Alignment(horizontal="left", vertical="center", wrap_text=True, indent=1)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)

from ..book.layout import (COUNT_FORMAT, DATE_FORMAT, MONEY_FORMAT,  # noqa: E402,F401
                           MONTH_FORMAT, NUMBER_FORMAT, PERCENT_FORMAT)

#: Number format per schema kind.
KIND_FORMAT = {
    Kind.DATE: DATE_FORMAT,
    Kind.MONEY: MONEY_FORMAT,
    Kind.PERCENT: PERCENT_FORMAT,
    Kind.INTEGER: COUNT_FORMAT,
    Kind.NUMBER: "0.##",
}

#: Risk band fills for conditional formatting (Low, Medium, High).
BAND_FILLS = {"Low": "C6EFCE", "Medium": "FFEB9C", "High": "FFC7CE"}
BAND_FONTS = {"Low": "006100", "Medium": "9C5700", "High": "9C0006"}


#: Chart value labels: whole numbers, a zero left blank (no bar, no "0").
MONEY_LABEL = '#,##0;-#,##0;""'
COUNT_LABEL = '0;-0;""'


def style_input(cell, number_format: str | None = None) -> None:
    """A cell the user types into: yellow, unlocked."""
    cell.font = FONT
    cell.fill = INPUT_FILL
    cell.protection = UNLOCKED
    if number_format:
        cell.number_format = number_format


def style_computed(cell, number_format: str | None = None, helper: bool = False) -> None:
    """A formula cell: blue-grey (grey for helpers), locked."""
    cell.font = FONT
    cell.fill = HELPER_FILL if helper else COMPUTED_FILL
    cell.protection = LOCKED
    if number_format:
        cell.number_format = number_format


def style_header(cell, role: str = "input") -> None:
    """A table header: dark fill, white bold text; the colour says input, result or helper."""
    cell.font = HEADER_FONT
    cell.fill = {"input": INPUT_HEADER_FILL, "computed": COMPUTED_HEADER_FILL,
                 "helper": HELPER_HEADER_FILL}[role]
    cell.alignment = CENTER
    cell.protection = LOCKED


def write(ws, ref: str, value, font=FONT, **attrs):
    """Write a value with a font (and any other cell attributes); return the cell."""
    cell = ws[ref]
    cell.value = value
    cell.font = font
    for key, val in attrs.items():
        setattr(cell, key, val)
    return cell

#: Bar colours of the risk-band chart (stronger than the cell fills).
BAND_CHART = {"Low": "70AD47", "Medium": "FFC000", "High": "C00000"}


def fit_to_width(ws, landscape: bool = False) -> None:
    """Print the sheet one page wide (as many pages down as it takes)."""
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
