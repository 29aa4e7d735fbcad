"""What Excel hands a formula, made into numbers, flags, tables and settings, with reasons.

xlwings gives a single cell as a value and a range as a list of rows. Each argument kind
below turns that into a 2-D array plus, per cell, the reason it cannot be used ("" when it
can). The reasons are short and say what to type instead.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from operator import itemgetter
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..book import dates
from ..book.settings import Settings, SettingsError, settings_from_rows
from ..engine.units import UNIT_DAYS, fold
from ..book.validate import SchemaError, validate_sheet
from ..book.schema import SESSIONS


class ArgumentError(ValueError):
    """The whole argument is unusable; the message is shown in the cell."""


def grid(value) -> np.ndarray:
    """A cell or a range as a 2-D object array."""
    if isinstance(value, (list, tuple)):
        if set(map(type, value)) <= {list, tuple}:  # rows: one C pass per column
            widths = set(map(len, value))
            if len(widths) == 1 and 0 not in widths:
                out = np.empty((len(value), widths.pop()), dtype=object)
                for j in range(out.shape[1]):
                    out[:, j] = np.fromiter(map(itemgetter(j), value), dtype=object,
                                            count=len(value))
                return out
        rows = [list(r) if isinstance(r, (list, tuple)) else [r] for r in value]
        if not rows or not rows[0]:
            return np.empty((0, 0), dtype=object)
        width = max(len(r) for r in rows)
        out = np.empty((len(rows), width), dtype=object)
        for i, r in enumerate(rows):
            out[i, :len(r)] = r
        return out
    out = np.empty((1, 1), dtype=object)
    out[0, 0] = value
    return out


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class Converted(NamedTuple):
    """A per-cell argument made into numbers: ``values`` (NaN where unusable), ``reasons``
    ("" where usable), and the masks ``bad`` (reasons != "") and ``blank`` (empty cells)."""

    values: np.ndarray
    reasons: np.ndarray
    bad: np.ndarray
    blank: np.ndarray


type_of = np.frompyfunc(type, 1, 1)
"""The Python type of each cell of an object array (one C loop)."""
_NONE = type(None)


def _sorted_cells(cells: np.ndarray):
    """``cells`` sorted by Python type, as masks: plain numbers, blanks (None) and the rest.

    xlwings gives numbers as float, blanks as None; the rest (text, TRUE/FALSE, dates,
    numpy scalars) are looked at one by one by the caller, usually a few cells.
    """
    kinds = type_of(cells)
    number = (kinds == float) | (kinds == int)
    blank = kinds == _NONE
    return number, blank, ~(number | blank)


class PlainNumbers(NamedTuple):
    """A one-column range of only numbers and blanks, read straight into floats."""

    values: np.ndarray  # (rows, 1), NaN where blank
    blank: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape


def cells_of(value):
    """A per-cell argument's cells: :class:`PlainNumbers` when the range is one column of
    numbers and blanks (most ranges), else :func:`grid`'s object array."""
    if isinstance(value, list) and value and set(map(type, value)) == {list} \
            and set(map(len, value)) == {1}:
        flat = list(map(itemgetter(0), value))
        if set(map(type, flat)) <= {float, int, _NONE}:
            try:
                values = np.array(flat, dtype=float).reshape(-1, 1)  # None as NaN
            except (OverflowError, ValueError):
                return grid(value)
            blank = np.isnan(values)
            for i in np.flatnonzero(blank):  # a NaN typed as a number is not a blank
                if flat[i] is not None:
                    blank[i, 0] = False
            return PlainNumbers(values, blank)
    return grid(value)


def _read(cells):
    """(values, number, blank, other cells' indices) of a per-cell argument's cells."""
    if isinstance(cells, PlainNumbers):
        return cells.values, ~cells.blank, cells.blank, ()
    number, blank, other = _sorted_cells(cells)
    if number.all():
        values = cells.astype(float)
    else:
        values = np.full(cells.shape, np.nan)
        if number.any():
            values[number] = cells[number].astype(float)
    return values, number, blank, list(zip(*np.nonzero(other)))


def _set(reasons, bad, where, reason) -> None:
    """Give the cells in ``where`` that have no reason yet the text ``reason``."""
    where = where & ~bad
    if where.any():
        reasons[where] = reason
        bad |= where


@dataclass(frozen=True)
class Number:
    """A number per cell: ``fraction`` means a share between 0 and 1, typed as a percentage."""

    label: str
    doc: str
    minimum: float | None = 0.0
    fraction: bool = False
    default: float | None = None  # None: required

    @property
    def required(self) -> bool:
        return self.default is None

    def reason(self, value) -> str:
        """Why ``value`` is not a usable number ("" when it is)."""
        return self._kind_reason(value) or self._range_reason(value)

    def _kind_reason(self, value) -> str:
        if isinstance(value, bool):
            return f"{self.label} must be a number, not {'TRUE' if value else 'FALSE'}"
        if isinstance(value, (dt.date, dt.datetime)):
            return f"{self.label} must be a number, not a date"
        if isinstance(value, str):
            return f"{self.label} must be a number, not text ({value.strip()[:20]!r})"
        if not isinstance(value, (int, float)):
            return f"{self.label} must be a number"
        return ""

    def _range_reason(self, value) -> str:
        if not math.isfinite(value):
            return f"{self.label} must be a number"
        if self.fraction and value > 1:
            return f"{self.label} must be between 0 and 1 (type {value:g}%, not {value:g})"
        if self.minimum is not None and value < self.minimum:
            return f"{self.label} must be {self.minimum:g} or more"
        return ""

    def convert(self, cells: np.ndarray) -> Converted:
        """The cells as numbers, checked column-wide; the same reasons as :meth:`reason`."""
        values, number, blank, other = _read(cells)
        reasons = np.full(cells.shape, "", dtype=object)
        bad = np.zeros(cells.shape, dtype=bool)
        for index in other:
            value = cells[index]
            if is_blank(value):
                blank[index] = True
            elif reason := self._kind_reason(value):
                reasons[index], bad[index] = reason, True
            else:  # a number of another type (numpy's): checked with the others below
                values[index], number[index] = float(value), True
        if blank.any():
            if self.required:
                _set(reasons, bad, blank, f"{self.label} is blank")
            else:
                values[blank] = self.default
        with np.errstate(invalid="ignore"):
            _set(reasons, bad, number & ~np.isfinite(values), f"{self.label} must be a number")
            if self.fraction:
                for index in zip(*np.nonzero(number & (values > 1) & ~bad)):
                    reasons[index], bad[index] = self._range_reason(values[index]), True
            if self.minimum is not None:
                _set(reasons, bad, number & (values < self.minimum),
                     f"{self.label} must be {self.minimum:g} or more")
        values[bad] = np.nan
        return Converted(values, reasons, bad, blank)


@dataclass(frozen=True)
class Flag:
    """TRUE/FALSE (or 1/0) per cell; blank is FALSE."""

    label: str
    doc: str
    default: bool = False
    required = False

    def convert(self, cells: np.ndarray) -> Converted:
        values, number, blank, other = _read(cells)
        for index in other:
            value = cells[index]
            if is_blank(value):
                blank[index] = True
            elif isinstance(value, bool) or value in (0, 1):
                values[index], number[index] = float(value), True
        values[blank] = float(self.default)
        bad = ~blank & ~((values == 0) | (values == 1))
        reasons = np.full(cells.shape, "", dtype=object)
        _set(reasons, np.zeros(cells.shape, dtype=bool), bad, f"{self.label} must be TRUE or FALSE")
        values[bad] = 0.0
        return Converted(values, reasons, bad, blank)


@dataclass(frozen=True)
class SettingsRange:
    """An optional two-column range of setting names and values, like the Settings sheet."""

    doc: str = ("Optional: a two-column range of setting names and values (the Settings "
                "sheet); blank uses the defaults.")
    label: str = "settings"

    def convert(self, value) -> Settings:
        if value is None:
            return Settings()
        cells = grid(value)
        if cells.shape[1] < 2:
            raise ArgumentError("settings must be two columns: name and value")
        try:
            return Settings(settings_from_rows(cells[:, :2]))
        except SettingsError as error:
            raise ArgumentError(f"settings: {error}") from None


@dataclass(frozen=True)
class SessionsRange:
    """A sessions range with its header row: Date, Client ID, Amount, Status (Package optional)."""

    doc: str = ("The sessions with their header row: Date, Client ID, Amount, Status "
                "(Completed, Cancelled, Rescheduled or Booked).")
    label: str = "sessions"

    def convert(self, value) -> pd.DataFrame:
        cells = grid(value)
        if cells.shape[0] < 2:
            raise ArgumentError("sessions needs a header row and at least one session")
        header = [str(h).strip() if not is_blank(h) else f"column {i + 1}"
                  for i, h in enumerate(cells[0])]
        raw = pd.DataFrame(cells[1:], columns=header)
        try:
            good, problems = validate_sheet(SESSIONS, raw)
        except SchemaError as error:
            raise ArgumentError(str(error)) from None
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            first = errors[0]
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise ArgumentError(f"row {first.row} of the range, {first.column}: "
                                f"{first.reason}{more}")
        if good.empty:
            raise ArgumentError("sessions has no rows")
        return good


@dataclass(frozen=True)
class DateArg:
    """A single date; blank gives None (the caller's default: the settings' as-of, then today)."""

    label: str
    doc: str

    def convert(self, value):
        if is_blank(value):
            return None
        return supported_date(self.label, value)


def supported_date(label: str, value) -> pd.Timestamp:
    """A cell as a day within 1900-01-01..2189-12-31 (:mod:`clv_xl.book.dates`): a date or
    date text; else ArgumentError with the reason."""
    reason = dates.range_reason(value)
    if reason:
        raise ArgumentError(f"{label}: {reason}")
    stamp = None
    if isinstance(value, (dt.date, dt.datetime)):
        stamp = pd.Timestamp(value)
    elif isinstance(value, str):
        try:
            stamp = pd.Timestamp(value.strip())
        except (ValueError, OverflowError):
            pass
    if stamp is None or stamp is pd.NaT:
        raise ArgumentError(f"{label} must be a date")
    reason = dates.range_reason(stamp)
    if reason:
        raise ArgumentError(f"{label}: {reason}")
    return stamp.normalize()


# ------------------------------------------------------------------ model parameters
MODEL_PARAMETER_NAMES = ("r", "alpha", "a", "b", "s", "beta", "p", "q", "gamma")
MODEL_ROW = "model"
PURCHASE_MODELS = ("BG/NBD", "MBG/NBD", "Pareto/NBD")
TIME_UNIT_ROW = "time unit (days)"
_TABLE_KEYS = {fold(n): n for n in MODEL_PARAMETER_NAMES + (TIME_UNIT_ROW, MODEL_ROW)}


@dataclass(frozen=True)
class ModelParameter:
    """One model parameter: a single positive number, or the CLV_FIT parameter table.

    ``convert`` gives a float for a number, a dict {name: estimate} for a table (a column of
    names and a column of estimates; header row and extra columns ignored), None when blank.
    Not per cell: one value (or one table) serves the whole formula.
    """

    label: str
    doc: str

    def convert(self, value):
        cells = grid(value)
        if cells.size == 0 or (cells.shape == (1, 1) and is_blank(cells[0, 0])):
            return None
        if cells.shape == (1, 1):
            return _positive(self.label, cells[0, 0])
        return parameter_table(cells, self.label)


def _positive(label: str, value) -> float:
    reason = Number(label, "", minimum=None).reason(value)
    if reason:
        raise ArgumentError(reason)
    if value <= 0:
        raise ArgumentError(f"{label} must be more than 0")
    return float(value)


def parameter_table(cells: np.ndarray, label: str = "parameters") -> dict:
    """{name: estimate} from a CLV_FIT table; rows with other names or blank estimates are skipped."""
    if cells.shape[1] < 2:
        raise ArgumentError(f"{label} must be one number or the CLV_FIT table "
                            "(a column of names and a column of estimates)")
    found = {}
    for name, estimate in cells[:, :2]:
        key = _TABLE_KEYS.get(fold(name)) if isinstance(name, str) else None
        if key is None or is_blank(estimate):
            continue
        if key == MODEL_ROW:  # the purchase model the table was fitted with (CLV_FIT)
            found[key] = _model_name(estimate)
            continue
        found[key] = _positive(f"{key} in the parameter table", estimate)
    if not found:
        raise ArgumentError(f"{label}: no parameter names (r, alpha, a, b, p, q, gamma, beta) in "
                            "the first column; give the CLV_FIT or SBG_FIT table")
    return found


def _model_name(text) -> str:
    for choice in PURCHASE_MODELS:
        if isinstance(text, str) and fold(text) == fold(choice):
            return choice
    raise ArgumentError(f"model in the parameter table must be {' or '.join(PURCHASE_MODELS)}")


def resolve_parameters(given: dict) -> dict:
    """The model's parameters from its arguments in order, e.g. {"r": ..., "alpha": ..., ...}.

    Either every argument is a number, or the first is a parameter table (a dict) and the
    rest are left out. Raises ArgumentError naming the missing or misplaced one.
    """
    names = list(given)
    first = given[names[0]]
    listed = ", ".join(names)
    if isinstance(first, dict):
        extra = [n for n in names[1:] if given[n] is not None]
        if extra:
            raise ArgumentError(f"{extra[0]} must be left out when {names[0]} is the "
                                "parameter table")
        missing = [n for n in names if n not in first]
        if missing:
            raise ArgumentError(f"{missing[0]} is missing from the parameter table")
        return {n: first[n] for n in names}
    for n in names:
        if given[n] is None:
            raise ArgumentError(f"{n} is missing: give {listed} or the CLV_FIT table")
        if isinstance(given[n], dict):
            raise ArgumentError(f"{n} must be one number (the CLV_FIT table goes in {names[0]})")
    return dict(given)


def single_cell(label: str, value):
    """The one value of an argument that must be a single cell."""
    cells = grid(value)
    if cells.shape != (1, 1):
        raise ArgumentError(f"{label} must be a single cell")
    return cells[0, 0]


@dataclass(frozen=True)
class TimeUnit:
    """The model's time unit: "days", "weeks" (blank) or "months" (365.25/12 days), as days."""

    label: str = "time unit"
    doc: str = ('Optional: "days", "weeks" (default) or "months": the unit of recency and T '
                "in the fitted model.")

    def convert(self, value) -> float:
        text = single_cell(self.label, value)
        if is_blank(text):
            return 7.0
        if isinstance(text, str):
            name = text.strip().lower()
            days = UNIT_DAYS.get(name) or UNIT_DAYS.get(name + "s")  # "week" as "weeks"
            if days:
                return days
        raise ArgumentError(f'{self.label} must be "days", "weeks" or "months"')


@dataclass(frozen=True)
class TextChoice:
    """One of a few words for the whole formula (not per cell), case-insensitive; blank is the first.

    Spaces, slashes and dashes are ignored when matching ("mbg/nbd", "MBG-NBD", "MBGNBD").
    ``convert`` returns the canonical spelling, e.g. "MBG/NBD".
    """

    label: str
    doc: str
    choices: tuple = ()
    blank: str | None = "first"  # what a blank gives: "first" the first choice, else this

    def convert(self, value) -> str | None:
        text = single_cell(self.label, value)
        if is_blank(text):
            return self.choices[0] if self.blank == "first" else self.blank
        if isinstance(text, str):
            for choice in self.choices:
                if fold(text) == fold(choice):
                    return choice
        listed = " or ".join(f'"{c}"' for c in self.choices)
        raise ArgumentError(f"{self.label} must be {listed}")


MODEL_CHOICE = TextChoice(
    "model", 'Optional: "BG/NBD", "MBG/NBD" (clients may also drop out right after their first '
    'purchase) or "Pareto/NBD" (r, alpha, s, beta). Blank: the CLV_FIT table\'s model, else '
    "BG/NBD.", PURCHASE_MODELS, blank=None)
FIT_CHOICE = TextChoice(
    "model", 'Optional: "auto" (default: the model Recompute picks on a holdout), "BG/NBD", '
    '"MBG/NBD" or "Pareto/NBD".', ("auto",) + PURCHASE_MODELS)


@dataclass(frozen=True)
class CohortCounts:
    """Members still active at the start of each period: one cohort as a column or a row, or
    several cohorts as rows (each cohort's row ends at its first blank cell).

    ``convert`` gives a list of count lists, the first number of each being the cohort's size.
    """

    label: str
    doc: str

    def convert(self, value) -> list:
        cells = grid(value)
        if cells.shape[1] == 1 and cells.shape[0] > 1:
            cells = cells.T
        cohorts = []
        for row in cells:
            counts = []
            for cell in row:
                if is_blank(cell):
                    break
                reason = Number(self.label, "").reason(cell)
                if reason:
                    raise ArgumentError(reason)
                counts.append(float(cell))
            if counts:
                cohorts.append(counts)
        if not cohorts:
            raise ArgumentError(f"{self.label}: give the members active at the start of each "
                                "period, the cohort's size first")
        return cohorts
