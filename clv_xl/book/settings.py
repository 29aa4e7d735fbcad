"""The Settings sheet as a checked, complete set of values (defaults from the schema)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from types import MappingProxyType

import pandas as pd

from . import dates
from .schema import SETTING_BY_KEY, SETTINGS, Kind
from ..engine.units import fold


class SettingsError(ValueError):
    """A setting has a value it cannot take; the message names the setting."""


class Settings(Mapping):
    """Read-only settings: ``settings.margin`` or ``settings["margin"]``.

    ``Settings(margin=0.4)`` takes the schema defaults for everything not given; blanks
    (None, NaN, "") also mean "the default". Unknown keys and out-of-range values raise
    :class:`SettingsError`.
    """

    def __init__(self, values: Mapping | None = None, /, **overrides):
        given = {**(values or {}), **overrides}
        unknown = sorted(set(given) - set(SETTING_BY_KEY))
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(unknown)}")
        resolved = {s.key: _check(s, given.get(s.key)) for s in SETTINGS}
        if resolved["overdue_full"] <= resolved["overdue_start"]:
            raise SettingsError("'Overdue is full at' must be larger than 'Overdue starts at'")
        if resolved["band_high"] < resolved["band_medium"]:
            raise SettingsError("'High risk from' must not be below 'Medium risk from'")
        weights = resolved["weight_overdue"] + resolved["weight_cancellations"] + resolved[
            "weight_replies"]
        if weights <= 0:
            raise SettingsError("at least one churn weight must be above 0")
        self._values = MappingProxyType(resolved)

    def __getitem__(self, key):
        return self._values[key]

    def __getattr__(self, key):
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(key) from None

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)

    def __repr__(self):
        return f"Settings({dict(self._values)!r})"


def settings_from_rows(rows, strict: bool = True) -> dict:
    """Setting values from rows of (name, value, ...): the name is a setting's key, label or
    defined name (case and spaces ignored), as on the Settings sheet. Rows whose first cell
    names no setting raise :class:`SettingsError` when ``strict``, else are skipped."""
    names = {}
    for setting in SETTINGS:
        for name in (setting.key, setting.label, setting.defined_name):
            names[fold(name)] = setting.key
    found = {}
    for row in rows:
        row = list(row)
        if len(row) < 2 or _blank(row[0]):
            continue
        key = names.get(fold(row[0]))
        if key is None:
            if strict:
                raise SettingsError(f"unknown setting {str(row[0])[:30]!r}")
            continue
        found[key] = row[1]
    return found


def _blank(value) -> bool:
    return (value is None or (isinstance(value, str) and not value.strip())
            or (isinstance(value, float) and math.isnan(value)))


def _date(setting, value) -> dt.date:
    """A date setting: a date, ISO text, or a number as Excel stores dates (a serial day
    number, as a date cell formatted as General shows it), within the supported range."""
    if isinstance(value, bool):
        raise SettingsError(f"{setting.label}: {value!r} is not a date")
    if isinstance(value, (int, float)):
        day = dates.from_serial(value) if math.isfinite(value) else None
        if day is None:
            raise SettingsError(f"{setting.label}: the number {value:g} is not a date "
                                "(type it as YYYY-MM-DD)")
        value = day
    reason = dates.range_reason(value)
    if reason:
        raise SettingsError(f"{setting.label}: {reason}")
    try:
        return pd.Timestamp(value).date()
    except (ValueError, TypeError, OverflowError):
        raise SettingsError(f"{setting.label}: {str(value)[:30]!r} is not a date") from None


def _check(setting, value):
    if _blank(value):
        return setting.default
    if setting.kind is Kind.DATE:
        return _date(setting, value)
    if setting.kind is Kind.TEXT:
        return str(value)
    if setting.kind is Kind.CHOICE:
        text = str(value).strip().lower()
        allowed = {c.lower(): c for c in setting.choices}
        if text not in allowed:
            raise SettingsError(f"{setting.label}: {str(value)[:30]!r} is not one of "
                                f"{', '.join(setting.choices)}")
        return allowed[text]
    if isinstance(value, bool) or isinstance(value, (dt.date, dt.datetime)):
        raise SettingsError(f"{setting.label}: {value!r} is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{setting.label}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise SettingsError(f"{setting.label}: {value!r} is not a number")
    if setting.kind is Kind.PERCENT and number > 1 and setting.maximum == 1.0:
        raise SettingsError(f"{setting.label}: must be between 0 and 1 (type 20%, not 20)")
    if setting.minimum is not None and number < setting.minimum:
        raise SettingsError(f"{setting.label}: must be at least {setting.minimum:g}")
    if setting.maximum is not None and number > setting.maximum:
        raise SettingsError(f"{setting.label}: must be at most {setting.maximum:g}")
    return number
