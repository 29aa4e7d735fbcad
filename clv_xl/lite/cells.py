"""What xlwings Lite hands a formula, made into what classic xlwings hands it.

The formulas then run through the classic argument conversion (:mod:`clv_xl.excel.args`)
unchanged. Lite (Office.js custom functions, documented by xlwings) differs in two ways:

* An empty cell arrives as 0, not as a blank. Where 0 is not a valid value anyway (a usual
  interval or period of at least 1, a model parameter, a date, a word, a settings table), 0 is
  read as blank, so the formula behaves as in classic Excel. Where 0 is valid (a margin, a
  cost, a rate, a count), 0 stays 0: leave the argument out, or put ="" in the cell, for blank.
* A date arrives as its serial number unless the argument declares a date. The date arguments
  and the date columns of a sessions range are declared here: their numbers become dates.
"""

from __future__ import annotations

import datetime as dt
import numbers

from ..book.schema import SESSIONS, Kind
from ..engine.units import fold
from ..excel.args import (DateArg, ModelParameter, Number, SessionsRange, SettingsRange,
                          TextChoice, TimeUnit)

#: Day 0 of Excel's 1900 date system (serial 1 is 1900-01-01; Excel's 1900-02-29 is skipped).
EXCEL_EPOCH = dt.datetime(1899, 12, 30)
#: Arguments for which a lone 0 can only be an empty cell.
_ZERO_IS_BLANK = (DateArg, ModelParameter, SettingsRange, TextChoice, TimeUnit)
_TEXT_KINDS = (Kind.TEXT, Kind.ID, Kind.CLIENT, Kind.CHOICE)
#: The sessions range's columns by folded header (or key): their kind.
_SESSION_KINDS = {fold(name): c.kind for c in SESSIONS.columns for name in (c.header, c.key)}


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def from_serial(value):
    """An Excel date serial as a datetime; other values unchanged."""
    if _is_number(value) and 0 < value < 2958466:  # up to 9999-12-31
        return EXCEL_EPOCH + dt.timedelta(days=float(value))
    return value


def _is_zero(value) -> bool:
    if isinstance(value, list):
        cells = [c for row in value for c in (row if isinstance(row, list) else [row])]
        return len(cells) == 1 and _is_zero(cells[0])
    return _is_number(value) and value == 0


def _map_cells(value, change):
    if isinstance(value, list):
        return [_map_cells(v, change) for v in value]
    return change(value)


def classic_value(spec, value):
    """``value`` as Lite passed it, as classic xlwings would pass the same cells."""
    if value is None:
        return None
    if isinstance(spec, _ZERO_IS_BLANK) and _is_zero(value):
        return None
    if isinstance(spec, DateArg):
        return from_serial(value)
    if isinstance(spec, Number) and spec.minimum is not None and spec.minimum > 0:
        return _map_cells(value, lambda v: None if _is_number(v) and v == 0 else v)
    if isinstance(spec, SessionsRange):
        return _sessions_dates(value)
    return value


def _sessions_dates(value):
    """A sessions range as classic xlwings reads it: by header, the date columns' serial
    numbers become dates, a 0 in a date or text column (an empty cell) becomes blank, and a
    row of nothing but empty cells becomes a blank row."""
    if not (isinstance(value, list) and value and isinstance(value[0], list)):
        return value
    header = value[0]
    kinds = [_SESSION_KINDS.get(fold(h)) if isinstance(h, str) else None for h in header]
    rows = [header]
    for row in value[1:]:
        row = list(row)
        if all(v is None or v == "" or _is_zero(v) for v in row):
            rows.append([None] * len(row))
            continue
        for i, kind in enumerate(kinds[:len(row)]):
            if kind is Kind.DATE or kind in _TEXT_KINDS:
                row[i] = None if _is_zero(row[i]) else row[i]
            if kind is Kind.DATE:
                row[i] = from_serial(row[i])
        rows.append(row)
    return rows
