"""The Settings sheet and the three input tables (Clients, Sessions, Contacts).

Everything is driven by :mod:`clv_xl.book.schema`: a column or a setting added there appears here
with its header, width, number format, validation and help, with no change to this module.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
from openpyxl.comments import Comment
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table, TableColumn, TableFormula, TableStyleInfo

from ..book.schema import CLIENTS, RISK_BANDS, SETTINGS, Kind, Sheet
from . import styles
from .formulas import COMPUTED, DERIVED, client_formula

#: Blank rows kept at the end of the Clients table: the sheet is protected (its formulas are
#: locked), and Excel does not grow a table on a protected sheet.
CLIENT_SPARE_ROWS = 200
#: Validation and input formats reach this far below the header, so typed rows are checked.
CHECKED_ROWS = 10_000
#: The workbook name of the Client ID column, for the dropdowns.
CLIENT_IDS = "ClientIDs"

FIRST_DATE, LAST_DATE = dt.date(1990, 1, 1), dt.date(2099, 12, 31)
_EPOCH = dt.date(1899, 12, 30)
SETTINGS_FIRST_ROW = 5


def _serial(day: dt.date) -> int:
    return (day - _EPOCH).days


# --- Settings --------------------------------------------------------------------------------

def settings_rows() -> dict[str, int]:
    """The sheet row of each setting and derived value, by key."""
    rows = {s.key: SETTINGS_FIRST_ROW + i for i, s in enumerate(SETTINGS)}
    start = SETTINGS_FIRST_ROW + len(SETTINGS) + 2
    rows.update({d.key: start + 1 + i for i, d in enumerate(DERIVED)})
    return rows


def add_settings(wb, as_of=None) -> None:
    """The Settings sheet: one named, validated input cell per setting, then derived values."""
    ws = wb.create_sheet("Settings")
    rows = settings_rows()
    styles.write(ws, "A1", "Settings", styles.TITLE)
    styles.write(ws, "A2", "Yellow cells are yours to change. Every formula in the book reads "
                 "them through the name in column C.", styles.NOTE)
    for col, text in zip("ABCD", ("Setting", "Value", "Name", "What it does")):
        styles.style_header(ws[f"{col}4"], "computed")
        ws[f"{col}4"].value = text
    for setting in SETTINGS:
        r = rows[setting.key]
        value = setting.default
        if setting.key == "as_of":
            value = as_of
        styles.write(ws, f"A{r}", setting.label, styles.BOLD)
        cell = ws[f"B{r}"]
        cell.value = value
        styles.style_input(cell, styles.KIND_FORMAT.get(setting.kind))
        cell.border = styles.BOX
        cell.comment = _note(setting.help)
        styles.write(ws, f"C{r}", setting.defined_name, styles.NOTE)
        styles.write(ws, f"D{r}", setting.help, styles.FONT, alignment=styles.WRAP)
        _define(wb, setting.defined_name, f"Settings!$B${r}")
        validation = _setting_validation(setting)
        if validation is not None:
            ws.add_data_validation(validation)
            validation.add(f"B{r}")
    first = rows[DERIVED[0].key]
    styles.write(ws, f"A{first - 1}", "Values in use (computed)", styles.SUBTITLE)
    for derived in DERIVED:
        r = rows[derived.key]
        styles.write(ws, f"A{r}", derived.label, styles.BOLD)
        cell = ws[f"B{r}"]
        cell.value = "=" + derived.formula
        styles.style_computed(cell, derived.number_format)
        cell.border = styles.BOX
        styles.write(ws, f"C{r}", derived.defined_name, styles.NOTE)
        styles.write(ws, f"D{r}", derived.help, styles.FONT, alignment=styles.WRAP)
        _define(wb, derived.defined_name, f"Settings!$B${r}")
    for col, width in zip("ABCD", (32, 14, 24, 80)):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A5"
    styles.fit_to_width(ws, landscape=True)
    _protect(ws)


def _setting_validation(setting) -> DataValidation | None:
    if setting.kind is Kind.DATE:
        return _date_validation(allow_blank=True,
                                extra=" Leave it blank to compute for today.")
    if setting.kind is Kind.TEXT:
        return None
    if setting.kind is Kind.CHOICE:
        return DataValidation(type="list", formula1='"' + ",".join(setting.choices) + '"',
                              allow_blank=True, showErrorMessage=True,
                              errorTitle=setting.label,
                              error=f"{setting.label}: pick one of {', '.join(setting.choices)}. "
                                    "Blank means the default.")
    low, high = setting.minimum, setting.maximum
    if low is not None and high is not None:
        operator, f1, f2 = "between", low, high
        allowed = f"a number from {low:g} to {high:g}"
        if setting.kind is Kind.PERCENT:
            allowed = f"a percentage from {low:.0%} to {high:.0%}"
    elif low is not None:
        operator, f1, f2 = "greaterThanOrEqual", low, None
        allowed = f"a number of at least {low:g}"
    else:
        return None
    return DataValidation(type="decimal", operator=operator, formula1=f"{f1:g}",
                          formula2=None if f2 is None else f"{f2:g}", allow_blank=True,
                          showErrorMessage=True, errorTitle=setting.label,
                          error=f"{setting.label}: type {allowed}. Blank means the default.",
                          showInputMessage=True, promptTitle=setting.label[:32],
                          prompt=setting.help[:255])


# --- input tables ----------------------------------------------------------------------------

def client_table_rows(frame: pd.DataFrame | None) -> int:
    """Rows of the Clients table below its header: the clients and the spare rows."""
    return (0 if frame is None else len(frame)) + CLIENT_SPARE_ROWS


def add_input_sheet(wb, sheet: Sheet, frame: pd.DataFrame | None) -> None:
    """One input sheet: an Excel Table (header in row 1) with validation and input prompts;
    Clients also carries the computed columns, locked, and a protected sheet."""
    ws = wb.create_sheet(sheet.name)
    computed = COMPUTED if sheet is CLIENTS else ()
    n = 0 if frame is None else len(frame)
    n_rows = client_table_rows(frame) if sheet is CLIENTS else max(1, n)
    last_row = 1 + n_rows
    n_cols = len(sheet.columns) + len(computed)
    ref = f"A1:{get_column_letter(n_cols)}{last_row}"

    columns = []
    for j, column in enumerate(sheet.columns, start=1):
        header = ws.cell(1, j, column.header)
        styles.style_header(header, "input")
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = column.width
        fmt = styles.KIND_FORMAT.get(column.kind)
        values = [None] * n if frame is None else [_cell_value(v) for v in frame[column.key]]
        for i in range(n_rows):
            cell = ws.cell(2 + i, j, values[i] if i < n else None)
            styles.style_input(cell, fmt)
        columns.append(TableColumn(id=j, name=column.header))
        ws.add_data_validation(_column_validation(sheet, column, letter,
                                                  max(CHECKED_ROWS, last_row)))
    for k, column in enumerate(computed, start=len(sheet.columns) + 1):
        header = ws.cell(1, k, column.header)
        styles.style_header(header, "helper" if column.helper else "computed")
        header.comment = _note(column.help)
        formula = client_formula(column)
        for i in range(n_rows):
            cell = ws.cell(2 + i, k, "=" + formula)
            styles.style_computed(cell, column.number_format, column.helper)
        columns.append(TableColumn(id=k, name=column.header,
                                   calculatedColumnFormula=TableFormula(attr_text=formula)))
        letter = get_column_letter(k)
        ws.column_dimensions[letter].width = column.width
        if column.helper:
            ws.column_dimensions[letter].outlineLevel = 1
    table = Table(displayName=sheet.table, ref=ref, tableColumns=columns,
                  autoFilter=AutoFilter(ref=ref),
                  tableStyleInfo=TableStyleInfo(name="TableStyleLight1", showRowStripes=False))
    table._initialise_columns = lambda: None  # keep our columns (openpyxl would rename them)
    ws.add_table(table)
    ws.row_dimensions[1].height = 32
    ws.freeze_panes = "C2" if sheet is CLIENTS else "A2"
    if sheet is CLIENTS:
        _define(wb, CLIENT_IDS, f"{sheet.table}[{sheet.column('client_id').header}]")
        _band_formatting(ws, last_row)
        _protect(ws)
        ws.sheet_properties.outlinePr.summaryRight = False


def _cell_value(value):
    """A DataFrame value as openpyxl writes it: blanks to None, timestamps to dates."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date() if value == value.normalize() else value.to_pydatetime()
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return value


def _column_validation(sheet: Sheet, column, letter: str, last_row: int) -> DataValidation:
    """The rule of one input column, with an error message saying what is allowed."""
    title = f"{sheet.name}: {column.header}"[:32]
    common = dict(allow_blank=True, showErrorMessage=True,
                  errorTitle=title, showInputMessage=True, promptTitle=column.header[:32],
                  prompt=column.help[:255])
    rng = f"{letter}2:{letter}{last_row}"
    if column.kind is Kind.DATE:
        dv = _date_validation(**{k: v for k, v in common.items() if k not in ("allow_blank",)})
    elif column.kind in (Kind.MONEY, Kind.NUMBER, Kind.INTEGER, Kind.PERCENT):
        dv = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0",
                            error=f"{column.header}: type an amount of 0 or more.", **common)
    elif column.kind is Kind.CHOICE:
        dv = DataValidation(type="list", formula1='"' + ",".join(column.choices) + '"',
                            error=f"{column.header}: choose one of "
                                  f"{', '.join(column.choices)}.", **common)
    elif column.kind is Kind.CLIENT:
        dv = DataValidation(type="list", formula1=CLIENT_IDS,
                            error=f"{column.header}: choose a Client ID that is in the "
                                  "Clients sheet (add the client there first).", **common)
    elif column.kind is Kind.ID:
        dv = DataValidation(type="custom",
                            formula1=f"COUNTIF(${letter}$2:${letter}${last_row},{letter}2)=1",
                            error=f"{column.header}: this id is already used; each client "
                                  "needs a unique id, e.g. C0042.", **common)
    else:
        dv = DataValidation(type=None, **common)
    dv.add(rng)
    return dv


def _date_validation(allow_blank=True, extra="", **kwargs) -> DataValidation:
    kwargs.setdefault("showErrorMessage", True)
    kwargs.setdefault("errorTitle", "Date")
    return DataValidation(
        type="date", operator="between", formula1=str(_serial(FIRST_DATE)),
        formula2=str(_serial(LAST_DATE)), allow_blank=allow_blank,
        error=f"Type a date, e.g. 2026-03-14 (years {FIRST_DATE.year} to "
              f"{LAST_DATE.year}).{extra}", **kwargs)


def _band_formatting(ws, last_row: int) -> None:
    """Green, amber and red for the risk bands, and the same for the stages they lead to."""
    headers = {c.key: i for i, c in enumerate(COMPUTED, start=len(CLIENTS.columns) + 1)}
    stage_of = {"Low": "Retained", "Medium": "Lapsed", "High": "At risk"}
    for key, words in (("risk_band", {b: b for b in RISK_BANDS}), ("lifecycle_stage", stage_of)):
        letter = get_column_letter(headers[key])
        rng = f"{letter}2:{letter}{max(last_row, CHECKED_ROWS)}"
        for band, word in words.items():
            ws.conditional_formatting.add(rng, CellIsRule(
                operator="equal", formula=[f'"{word}"'],
                fill=PatternFill("solid", bgColor=styles.BAND_FILLS[band]),
                font=Font(color=styles.BAND_FONTS[band])))


# --- shared ----------------------------------------------------------------------------------

def _define(wb, name: str, target: str) -> None:
    wb.defined_names[name] = DefinedName(name, attr_text=target)


def _note(text: str) -> Comment:
    comment = Comment(text, "clv-xl")
    comment.width, comment.height = 240, 90
    return comment


def _protect(ws) -> None:
    """Protect the sheet without a password: formulas are locked, inputs stay open, and
    filtering, sorting and resizing stay allowed."""
    p = ws.protection
    p.sheet = True
    p.formatColumns = p.formatRows = p.formatCells = False
    p.autoFilter = p.sort = False
    p.selectLockedCells = p.selectUnlockedCells = False
