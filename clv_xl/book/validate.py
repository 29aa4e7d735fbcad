"""Check the rows of an input sheet against the schema: keep the good ones, list the bad ones.

The input is what cells hold, as a reader gives them (numbers, text, dates, booleans, None),
in a DataFrame whose columns are the sheet's headers or keys. The output is a typed
DataFrame of the good rows (columns named by key) and a list of :class:`Problem` rows that
name the sheet, the row as the user numbers it, the column, the value and the reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import dates
from .cell_errors import CellError
from .schema import CLIENTS, CONTACTS, NUMBER_KINDS, SESSIONS, Kind, Sheet
from ..engine.units import fold


class SchemaError(ValueError):
    """A sheet or a column the book must have is missing; the message names it."""


@dataclass(frozen=True)
class Problem:
    sheet: str
    row: int
    column: str
    value: object
    reason: str
    severity: str = "error"  # "error": the row is left out; "warning": it is kept or harmless

    def as_text(self) -> str:
        where = f"{self.sheet} row {self.row}" + (f", {self.column}" if self.column else "")
        return f"{where}: {self.reason}"


def with_keys(sheet: Sheet, raw: pd.DataFrame) -> pd.DataFrame:
    """Rename header columns to keys (case and spaces ignored); a missing column is an error."""
    lookup = {}
    for column in sheet.columns:
        lookup[fold(column.header)] = column.key
        lookup[fold(column.key)] = column.key
    renamed = raw.rename(columns=lambda c: lookup.get(fold(c), c))
    missing = [c.header for c in sheet.columns if c.key not in renamed.columns
               and c.required]
    if missing:
        names = ", ".join(repr(m) for m in missing)
        verb = "is" if len(missing) == 1 else "are"
        raise SchemaError(f"{sheet.name}: column{'s' * (len(missing) > 1)} {names} {verb} missing")
    for column in sheet.columns:
        if column.key not in renamed.columns:
            renamed[column.key] = None
    return renamed[sheet.keys]


def validate_sheet(sheet: Sheet, raw: pd.DataFrame, first_row: int = 2,
                   client_ids=None, as_of=None) -> tuple[pd.DataFrame, list[Problem]]:
    """Typed good rows and the problems of one sheet.

    ``first_row`` is the sheet row of the first data row (2 under a header in row 1).
    ``client_ids``: the known client ids, to check references; ``as_of``: to flag dates after it.
    """
    frame = with_keys(sheet, raw).reset_index(drop=True)
    rows = pd.RangeIndex(len(frame)) + first_row
    problems: list[Problem] = []
    bad = np.zeros(len(frame), dtype=bool)
    cells = {key: _Cells(frame[key]) for key in sheet.keys}  # each column's cells, typed once

    def flag(mask, column, reason, severity="error"):
        nonlocal bad
        mask = np.asarray(mask, dtype=bool)
        flagged = np.flatnonzero(mask)  # usually few: a Problem is built for these only
        if len(flagged):
            header = column.header if column else ""
            values = cells[column.key].values[flagged] if column else [None] * len(flagged)
            for i, value in zip(flagged.tolist(), values):
                problems.append(Problem(sheet.name, i + first_row, header, _cell_text(value),
                                        reason(value) if callable(reason) else reason,
                                        severity))
        if severity == "error":
            bad |= mask

    blanks = {key: cells[key].blank for key in sheet.keys}
    empty = np.logical_and.reduce(list(blanks.values())) if len(frame) else np.zeros(0, bool)
    trailing = np.logical_and.accumulate(empty[::-1])[::-1]  # blank rows kept for typing into
    flag(empty & ~trailing, None, "empty row inside the table (skipped)", "warning")
    clean = pd.DataFrame(index=frame.index)
    for column in sheet.columns:
        blank = blanks[column.key] & ~empty
        error = _flag_error_cells(column, cells[column.key], flag) & ~empty
        if column.required:
            flag(blank, column, "is blank")
        parsed, invalid, reason = _parse(column, cells[column.key], blank | empty | error)
        flag(invalid, column, reason)
        clean[column.key] = parsed

    if sheet is CLIENTS:
        ids = clean["client_id"]
        duplicate = ids.duplicated(keep="first") & ids.notna() & ~pd.Series(bad)
        flag(duplicate, sheet.column("client_id"), "duplicate client id (the first one is kept)")
        usable = ids.where(~pd.Series(bad) & ~duplicate)
        folded = usable.str.casefold()
        alike = (usable.groupby(folded).transform("first") != usable) & folded.notna()
        first = _spellings(usable[folded.isin(set(folded[alike]))]) if alike.any() else {}
        flag(alike.to_numpy(bool), sheet.column("client_id"),
             lambda v: f"differs from {_quoted(first[v.casefold()])} only in case: Excel's "
                       "formulas count the two as one client", "warning")
        known = set(ids[~pd.Series(bad)].dropna())
        unknown = clean["referred_by"].notna() & ~clean["referred_by"].isin(known)
        flag(unknown, sheet.column("referred_by"),
             lambda v: f"no client has the id {_quoted(v)}; the referral is not counted", "warning")
        clean.loc[unknown, "referred_by"] = None
    elif client_ids is not None:
        unknown = clean["client_id"].notna() & ~clean["client_id"].isin(set(client_ids))
        known = _spellings(client_ids) if (unknown & ~bad).any() else {}
        spelled = clean["client_id"][unknown & ~bad].map(
            lambda v: known.get(v.casefold()) if isinstance(v, str) else None).dropna()
        if len(spelled):
            fixed = clean.index.isin(spelled.index)
            flag(fixed, sheet.column("client_id"),
                 lambda v: f"written {_quoted(known[v.casefold()])} in Clients: counted as "
                           "that client (Excel's formulas ignore case too)", "warning")
            clean.loc[spelled.index, "client_id"] = spelled
            unknown &= ~fixed
        flag(unknown & ~bad, sheet.column("client_id"),
             lambda v: f"no client has the id {_quoted(v)} in Clients")

    if as_of is not None and "date" in clean:
        after = (clean["date"] > pd.Timestamp(as_of)).to_numpy() & ~bad
        if sheet is SESSIONS:
            done = (clean["status"] == "Completed").to_numpy()
            flag(after & done, sheet.column("date"),
                 "a Completed session after the as-of date")
            before = (clean["date"] < pd.Timestamp(as_of)).to_numpy() & ~bad
            flag(before & (clean["status"] == "Booked").to_numpy(), sheet.column("status"),
                 "still Booked but dated before the as-of date: set its status", "warning")
        elif sheet is CONTACTS:
            flag(after, sheet.column("date"), "after the as-of date (not counted)", "warning")
    if sheet is SESSIONS:
        no_amount = clean["amount"].isna().to_numpy() & (clean["status"] == "Completed").to_numpy()
        flag(no_amount & ~bad, sheet.column("amount"), "a Completed session needs an amount")
        clean["amount"] = clean["amount"].fillna(0.0)

    keep = ~bad & ~empty
    good = clean[keep].copy()
    good.index = rows[keep]
    good.index.name = "row"
    problems.sort(key=lambda p: (p.row, p.column))
    return good, problems


def _spellings(ids) -> dict[str, str]:
    """Each id by its case-folded form -> the first spelling of it."""
    first: dict[str, str] = {}
    for value in ids:
        if isinstance(value, str):
            first.setdefault(value.casefold(), value)
    return first


def _choice_hints(column) -> dict[str, str]:
    """Other words for a choice (``aliases.STATUS_WORDS``: "Canceled", "No-show") -> the
    choice the book holds ("Cancelled"): a book keeps the choice itself, because its own
    formulas count that word only; an import writes it."""
    from .aliases import STATUS_WORDS

    return {fold(word): choice for choice, words in STATUS_WORDS.items()
            if choice in column.choices for word in words}


def _flag_error_cells(column, cells: "_Cells", flag) -> np.ndarray:
    """Flag the cells that show an Excel error (#N/A, #REF!, ...): the row is left out, except
    in an optional text column (a note), where the cell is read as blank. Returns the mask."""
    error = cells.of_type(lambda t: issubclass(t, CellError))
    if error.any():
        note = column.kind is Kind.TEXT and not column.required
        flag(error, column, lambda v: f"the cell shows the error {v}" + (
            " (read as blank)" if note else ": fix it in Excel"), "warning" if note else "error")
    return error


def _parse(column, cells: "_Cells", skip: np.ndarray):
    """(parsed values, invalid mask, reason) for one column."""
    kind = column.kind
    if kind in NUMBER_KINDS:
        return _parse_number(column, cells, skip)
    if kind is Kind.DATE:
        return _parse_date(cells, skip)
    text = cells.texts()
    if kind is Kind.CHOICE:
        canonical = {c.lower(): c for c in column.choices}
        folded = _map_distinct(text, lambda t: canonical.get(t.lower())).astype("str")
        invalid = folded.isna().to_numpy() & ~skip
        allowed = ", ".join(column.choices)
        hints = _choice_hints(column)
        return folded, invalid, (lambda v: f"write {hints[fold(v)]}, not {_quoted(v)}"
                                 if fold(v) in hints else f"{_quoted(v)} is not one of {allowed}")
    return text.where(~skip, None), np.zeros(len(text), dtype=bool), ""


#: Larger amounts are refused: Excel keeps 15 significant digits, and sums of amounts near
#: the float limit (1e308) overflow.
MAX_NUMBER = 1e15


def _parse_number(column, cells, skip):
    numeric = cells.of_type(lambda t: t in (int, float, np.float64, np.int64))
    number = np.full(len(numeric), np.nan)
    if numeric.any():
        try:
            number[numeric] = cells.values[numeric].astype(float)
        except (OverflowError, TypeError, ValueError):  # e.g. an int too big for a float
            number[numeric] = pd.to_numeric(pd.Series(cells.values[numeric]),
                                            errors="coerce").astype(float)
    with np.errstate(invalid="ignore"):
        not_number = ~numeric & ~skip
        negative = numeric & (number < 0)
        over_one = numeric & (number > 1) & (column.kind is Kind.PERCENT)
        nan = numeric & ~np.isfinite(number)
        huge = numeric & (np.abs(number) > MAX_NUMBER)
    invalid = (not_number | negative | over_one | nan | huge) & ~skip

    def reason(value):
        if isinstance(value, bool):
            return f"{'TRUE' if value else 'FALSE'} is not an amount"
        if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
            return "a date where a number belongs"
        if isinstance(value, str):
            return f"text {_quoted(value)} where a number belongs"
        if column.kind is Kind.PERCENT and isinstance(value, (int, float)) and value > 1:
            return "must be between 0 and 1 (type 20%, not 20)"
        if isinstance(value, float) and not np.isfinite(value):
            return "not a number"
        if isinstance(value, (int, float)) and abs(value) > MAX_NUMBER:
            return f"over {MAX_NUMBER:,.0f}: not supported"
        return "must be 0 or more"

    number[invalid] = np.nan
    return pd.Series(number, index=cells.index), invalid, reason


def _parse_date(cells, skip):
    """Dates and ISO date text; a date outside 1900-01-01..2189-12-31 is invalid with its
    reason (:mod:`clv_xl.book.dates`)."""
    is_date = cells.of_type(lambda t: issubclass(t, (dt.date, pd.Timestamp)))
    is_text = cells.is_text
    parsed = np.full(len(is_date), np.datetime64("NaT"), dtype="datetime64[ns]")
    if is_date.any():  # date, datetime and Timestamp cells in one conversion
        parsed[is_date] = _supported(pd.to_datetime(
            pd.Series(cells.values[is_date], dtype=object), errors="coerce"))
    if is_text.any():
        parsed[is_text] = _supported(_iso_dates(cells.stripped[is_text]))
    parsed = pd.Series(parsed, index=cells.index).dt.normalize()
    invalid = parsed.isna().to_numpy() & ~skip

    def reason(value):
        if isinstance(value, bool):
            return f"{'TRUE' if value else 'FALSE'} is not a date"
        if isinstance(value, (int, float)):
            return f"the number {value:g} where a date belongs (format the cell as a date)"
        if isinstance(value, dt.time):  # what a date before 1900 becomes in Excel
            return f"a time of day, not a date ({dates.BEFORE})"
        return dates.range_reason(value) or f"{_quoted(value)} is not a date (use YYYY-MM-DD)"

    return parsed, invalid, reason


def _iso_dates(texts: np.ndarray) -> pd.Series:
    """ISO dates of texts (a zone dropped); NaT for text that is not one."""
    dates = pd.to_datetime(pd.Series(texts, dtype=object), format="ISO8601", errors="coerce")
    if dates.dt.tz is not None:
        dates = dates.dt.tz_localize(None)
    return dates


def _supported(parsed: pd.Series) -> np.ndarray:
    """Parsed datetimes as nanosecond datetimes, NaT outside the supported range."""
    return parsed.where(dates.in_range(parsed)).astype("datetime64[ns]").to_numpy()


def _is_blank(value) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return np.isnan(value)
    if isinstance(value, str):
        return value.strip() == ""
    return value is pd.NaT


class _Cells:
    """One column's cells as a reader gives them, with each cell's type found once (one
    pass), so the checks are masks over the column rather than a Python call per cell.

    - ``values``: the cells (object array); ``of_type(pred)``: the cells whose type passes
      ``pred`` (asked once per distinct type);
    - ``is_text`` / ``stripped``: the text cells and their text stripped (stripped once per
      distinct text: ids, statuses and packages repeat);
    - ``blank``: ``_is_blank`` of every cell (None, NaN, NaT, text of only spaces).
    """

    def __init__(self, values: pd.Series):
        self.index = values.index
        self.values = values.to_numpy(dtype=object)
        types = list(map(type, self.values))
        self.distinct_types = list(set(types))  # usually a handful
        if len(self.distinct_types) > 1:
            number = {t: i for i, t in enumerate(self.distinct_types)}
            self.type_codes = np.fromiter(map(number.__getitem__, types), dtype=np.int32,
                                          count=len(types))
        self.is_text = self.of_type(lambda t: issubclass(t, str))
        if self.is_text.all():
            self.stripped = np.fromiter(map(str.strip, self.values), dtype=object,
                                        count=len(self.values))
        else:
            self.stripped = np.full(len(self.values), None, dtype=object)
            if self.is_text.any():
                self.stripped[self.is_text] = list(map(str.strip, self.values[self.is_text]))
        # pd.isna of every cell, asked only of the cells whose type may be a missing value
        self.missing = np.zeros(len(self.values), dtype=bool)
        maybe = ~self.of_type(lambda t: t in (str, int, bool, dt.datetime, dt.date))
        if maybe.any():
            self.missing[maybe] = pd.isna(self.values[maybe])
        self.blank = self.missing | (self.is_text & (self.stripped == ""))

    def of_type(self, pred) -> np.ndarray:
        chosen = [i for i, t in enumerate(self.distinct_types) if pred(t)]
        if len(chosen) == len(self.distinct_types):
            return np.ones(len(self.values), dtype=bool)
        if not chosen:
            return np.zeros(len(self.values), dtype=bool)
        return np.isin(self.type_codes, chosen)

    def texts(self) -> pd.Series:
        """``_as_text`` of every cell: text stripped (blank text None), blanks None, the
        few other values one by one."""
        out = np.full(len(self.values), None, dtype=object)
        exact = self.of_type(lambda t: t is str)
        out[exact] = self.stripped[exact]
        out[exact & self.blank] = None
        other = ~exact & ~(self.missing & self.of_type(
            lambda t: t is type(None) or issubclass(t, float)))
        if other.any():
            out[other] = [_as_text(v) for v in self.values[other]]
        return pd.Series(out, index=self.index, dtype=object)


def _map_distinct(values: pd.Series, func) -> pd.Series:
    """``func`` of every text, called once per distinct text (None stays None)."""
    array = values.to_numpy(dtype=object)
    memo = {v: (None if v is None else func(v)) for v in set(array)}
    return pd.Series(list(map(memo.__getitem__, array)), index=values.index, dtype=object)


def _as_text(value):
    if _is_blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _quoted(value, limit: int = 20) -> str:
    """A cell's text in quotes, cut short: a reason names the value, it does not repeat it."""
    text = str(_cell_text(value))
    return repr(text if len(text) <= limit else text[:limit - 1] + "…")


def _cell_text(value):
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        return value.date().isoformat() if value == value else ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
