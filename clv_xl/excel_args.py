"""What Excel hands a formula, made into numbers, flags, tables and settings, with reasons.

xlwings gives a single cell as a value and a range as a list of rows. Each argument kind
below turns that into a 2-D array plus, per cell, the reason it cannot be used ("" when it
can). The reasons are short and say what to type instead.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .settings import SETTING_BY_KEY, Settings, SettingsError
from .validate import SchemaError, validate_sheet
from .schema import SESSIONS


class ArgumentError(ValueError):
    """The whole argument is unusable; the message is shown in the cell."""


def grid(value) -> np.ndarray:
    """A cell or a range as a 2-D object array."""
    if isinstance(value, (list, tuple)):
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
        if isinstance(value, bool):
            return f"{self.label} must be a number, not {'TRUE' if value else 'FALSE'}"
        if isinstance(value, (dt.date, dt.datetime)):
            return f"{self.label} must be a number, not a date"
        if isinstance(value, str):
            return f"{self.label} must be a number, not text ({value.strip()[:20]!r})"
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            return f"{self.label} must be a number"
        if self.fraction and value > 1:
            return f"{self.label} must be between 0 and 1 (type {value:g}%, not {value:g})"
        if self.minimum is not None and value < self.minimum:
            return f"{self.label} must be {self.minimum:g} or more"
        return ""

    def convert(self, cells: np.ndarray):
        values = np.full(cells.shape, np.nan)
        reasons = np.full(cells.shape, "", dtype=object)
        for index, value in np.ndenumerate(cells):
            if is_blank(value):
                if self.required:
                    reasons[index] = f"{self.label} is blank"
                else:
                    values[index] = self.default
                continue
            reasons[index] = self.reason(value)
            if not reasons[index]:
                values[index] = float(value)
        return values, reasons


@dataclass(frozen=True)
class Flag:
    """TRUE/FALSE (or 1/0) per cell; blank is FALSE."""

    label: str
    doc: str
    default: bool = False
    required = False

    def convert(self, cells: np.ndarray):
        values = np.zeros(cells.shape)
        reasons = np.full(cells.shape, "", dtype=object)
        for index, value in np.ndenumerate(cells):
            if is_blank(value):
                values[index] = float(self.default)
            elif isinstance(value, bool) or value in (0, 1):
                values[index] = float(value)
            else:
                reasons[index] = f"{self.label} must be TRUE or FALSE"
        return values, reasons


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
        names = {_fold(s.key): s.key for s in SETTING_BY_KEY.values()}
        names.update({_fold(s.label): s.key for s in SETTING_BY_KEY.values()})
        names.update({_fold(s.defined_name): s.key for s in SETTING_BY_KEY.values()})
        given = {}
        for name, setting_value in cells[:, :2]:
            if is_blank(name):
                continue
            key = names.get(_fold(name))
            if key is None:
                raise ArgumentError(f"settings has an unknown name {str(name)[:30]!r}")
            given[key] = setting_value
        try:
            return Settings(given)
        except SettingsError as error:
            raise ArgumentError(f"settings: {error}") from None


def _fold(text) -> str:
    return "".join(ch for ch in str(text).lower() if ch.isalnum())


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
    """A single date; blank means the default (today, unless said otherwise)."""

    label: str
    doc: str

    def convert(self, value):
        if is_blank(value):
            return pd.Timestamp.today().normalize()
        if isinstance(value, (dt.date, dt.datetime)) and not isinstance(value, bool):
            return pd.Timestamp(value).normalize()
        if isinstance(value, str):
            try:
                return pd.Timestamp(value.strip()).normalize()
            except ValueError:
                pass
        raise ArgumentError(f"{self.label} must be a date")
