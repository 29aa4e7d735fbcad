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

from .schema import CLIENTS, CONTACTS, NUMBER_KINDS, SESSIONS, Kind, Sheet


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


def fold(text) -> str:
    """A header as compared: case, spaces and underscores ignored."""
    return str(text).strip().lower().replace(" ", "").replace("_", "")


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

    def flag(mask, column, reason, severity="error"):
        nonlocal bad
        mask = np.asarray(mask, dtype=bool)
        for i in np.flatnonzero(mask):
            value = frame.at[i, column.key] if column else None
            problems.append(Problem(sheet.name, int(rows[i]), column.header if column else "",
                                    _cell_text(value), reason(value) if callable(reason) else reason,
                                    severity))
        if severity == "error":
            bad |= mask

    blanks = {key: _blank_mask(frame[key]) for key in sheet.keys}
    empty = np.logical_and.reduce(list(blanks.values())) if len(frame) else np.zeros(0, bool)
    trailing = np.logical_and.accumulate(empty[::-1])[::-1]  # blank rows kept for typing into
    flag(empty & ~trailing, None, "empty row inside the table (skipped)", "warning")
    clean = pd.DataFrame(index=frame.index)
    for column in sheet.columns:
        values = frame[column.key]
        blank = blanks[column.key] & ~empty
        if column.required:
            flag(blank, column, "is blank")
        parsed, invalid, reason = _parse(column, values, blank | empty)
        flag(invalid, column, reason)
        clean[column.key] = parsed

    if sheet is CLIENTS:
        ids = clean["client_id"]
        duplicate = ids.duplicated(keep="first") & ids.notna() & ~pd.Series(bad)
        flag(duplicate, sheet.column("client_id"), "duplicate client id (the first one is kept)")
        known = set(ids[~pd.Series(bad)].dropna())
        unknown = clean["referred_by"].notna() & ~clean["referred_by"].isin(known)
        flag(unknown, sheet.column("referred_by"),
             lambda v: f"no client has the id {_quoted(v)}; the referral is not counted", "warning")
        clean.loc[unknown, "referred_by"] = None
    elif client_ids is not None:
        unknown = clean["client_id"].notna() & ~clean["client_id"].isin(set(client_ids))
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


def _parse(column, values: pd.Series, skip: np.ndarray):
    """(parsed values, invalid mask, reason) for one column."""
    kind = column.kind
    if kind in NUMBER_KINDS:
        return _parse_number(column, values, skip)
    if kind is Kind.DATE:
        return _parse_date(values, skip)
    text = _texts(values)
    if kind is Kind.CHOICE:
        canonical = {c.lower(): c for c in column.choices}
        folded = text.str.lower().map(canonical)
        invalid = folded.isna().to_numpy() & ~skip
        allowed = ", ".join(column.choices)
        return folded, invalid, (lambda v: f"{_quoted(v)} is not one of {allowed}")
    return text.where(~skip, None), np.zeros(len(values), dtype=bool), ""


def _parse_number(column, values, skip):
    kinds = values.map(type)
    numeric = kinds.isin([int, float, np.float64, np.int64]).to_numpy()
    number = pd.to_numeric(values.where(numeric), errors="coerce").astype(float)
    not_number = ~numeric & ~skip
    negative = numeric & (number < 0).to_numpy()
    over_one = numeric & (number > 1).to_numpy() & (column.kind is Kind.PERCENT)
    nan = numeric & ~np.isfinite(number.to_numpy())
    invalid = (not_number | negative | over_one | nan) & ~skip

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
        return "must be 0 or more"

    return number.where(~invalid), invalid, reason


def _parse_date(values, skip):
    is_date = values.map(lambda v: isinstance(v, (dt.date, pd.Timestamp))).to_numpy()
    is_text = values.map(lambda v: isinstance(v, str)).to_numpy()
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    if is_date.any():
        parsed[is_date] = pd.to_datetime(values[is_date].map(pd.Timestamp))
    if is_text.any():
        parsed[is_text] = pd.to_datetime(values[is_text].str.strip(), format="ISO8601",
                                         errors="coerce")
    parsed = parsed.dt.normalize()
    invalid = parsed.isna().to_numpy() & ~skip

    def reason(value):
        if isinstance(value, bool):
            return f"{'TRUE' if value else 'FALSE'} is not a date"
        if isinstance(value, (int, float)):
            return f"the number {value:g} where a date belongs (format the cell as a date)"
        return f"{_quoted(value)} is not a date (use YYYY-MM-DD)"

    return parsed, invalid, reason


def _is_blank(value) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return np.isnan(value)
    if isinstance(value, str):
        return value.strip() == ""
    return value is pd.NaT


def _blank_mask(values: pd.Series) -> np.ndarray:
    """``_is_blank`` of every value, vectorised (None, NaN, NaT, and text of only spaces)."""
    mask = pd.isna(values.to_numpy(dtype=object))
    try:
        stripped = values.str.strip()
    except AttributeError:  # no text in the column
        return np.asarray(mask, dtype=bool)
    return np.asarray(mask, dtype=bool) | (stripped == "").to_numpy(dtype=bool)


def _texts(values: pd.Series) -> pd.Series:
    """``_as_text`` of every value: text is stripped with pandas' string methods, the few
    other values one by one."""
    kinds = values.map(type)
    is_str = (kinds == str).to_numpy()
    out = pd.Series(None, index=values.index, dtype=object)
    if is_str.any():
        stripped = values[is_str].str.strip()
        out[is_str] = stripped.where(stripped != "", None)
    other = ~is_str
    if other.any():
        out[other] = values[other].map(_as_text)
    return out


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
