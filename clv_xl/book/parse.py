"""Dates and amounts as exports write them, a whole column at a time.

Each distinct text is parsed once (exports repeat dates and prices). What cannot be read is
left as it was, so that the validator names the cell and says why.

- Dates: ISO (with a time, with a zone: the date is the one written, in its own zone),
  year first with slashes, day-first or month-first numbers (decided for the whole column;
  a column that reads both ways is :class:`AmbiguousDates`, never a silent guess), Excel
  serial numbers, and month names through ``dateutil`` ("Dec 3, 2025 10:00 am").
- Amounts: currency symbols and codes, thousands separators (comma, dot, space,
  apostrophe), decimal comma or point (decided for the whole column), parentheses or a
  leading or trailing minus for negatives.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import numpy as np
import pandas as pd
from .dates import FIRST_DAY, LAST_DAY

_EXCEL_EPOCH = pd.Timestamp(1899, 12, 30)
#: Excel serial numbers read as dates: 1954-10-03 .. 2119-01-18 (other numbers are not dates).
SERIAL_RANGE = (20000, 80000)

_YEAR_FIRST = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:$|[T\s_]\d)")
_NUMERIC = re.compile(r"^(\d{1,2})([-/.])(\d{1,2})\2(\d{4}|\d{2})(?:$|[T\s,]\s*\d)")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
_ISO_DAY = r"^\d{4}-\d{2}-\d{2}(?:$|[T\s_]\d)"
_TIME = re.compile(r"(?:\s+at)?\s+\d{1,2}:\d{2}")


class AmbiguousDates(ValueError):
    """The column's dates read both day-first and month-first: the message says how to choose."""


def parse_dates(values: pd.Series, dayfirst: bool | None = None) -> tuple[pd.Series, str]:
    """(the column with every readable date as a Timestamp, a note on how numeric dates were
    read or ""). ``dayfirst``: True, False, or None to decide from the column."""
    out = values.astype(object).copy()
    if pd.api.types.infer_dtype(out, skipna=True) not in ("string", "empty"):
        numbers = out.map(lambda v: isinstance(v, (int, float, np.integer, np.floating))
                          and not isinstance(v, bool) and np.isfinite(v)).to_numpy(bool)
        if numbers.any():
            out[numbers] = [_from_serial(float(v)) for v in out[numbers]]
    texts = _texts(out)
    iso = texts.str.match(_ISO_DAY, na=False).to_numpy(bool)
    if iso.any():  # the common case, a whole column at once: 2025-12-03, with a time or zone
        days = pd.to_datetime(texts[iso].str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
        days = days.where((days >= DATE_RANGE[0]) & (days <= DATE_RANGE[1]))
        out[iso] = days.astype(object).where(days.notna(), out[iso])
        texts[iso] = None
    distinct = [t for t in pd.unique(texts.dropna()) if t]
    if not distinct:
        return out, ""
    numeric = {}
    for t in distinct:
        m = _NUMERIC.match(t)
        if m:
            numeric[t] = (int(m.group(1)), int(m.group(3)), m.group(4), m.group(2))
    note = ""
    if numeric:
        dayfirst, note = _decide_order(numeric, dayfirst)
    parsed: dict[str, object] = {}
    words: dict[str, object] = {}  # dates with month names, by their text without the time
    for t in distinct:
        if t in numeric:
            a, b, year, _ = numeric[t]
            day, month = (a, b) if dayfirst else (b, a)
            parsed[t] = _make(_year(year), month, day)
            continue
        m = _YEAR_FIRST.match(t)
        if m:
            parsed[t] = _make(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            continue
        m = _COMPACT.match(t)
        if m:
            parsed[t] = _make(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            continue
        if _SERIAL.match(t):
            parsed[t] = _from_serial(float(t))
            continue
        if any(ch.isalpha() for ch in t):
            day = _TIME.split(t, 1)[0]  # "Dec 3, 2025 10:00 am": the time is not needed
            if day not in words:
                words[day] = _with_dateutil(day, bool(dayfirst))
            parsed[t] = words[day]
    found = texts.map(parsed)
    readable = found.notna().to_numpy(bool)
    out[readable] = found[readable]
    return out, note


def _texts(values: pd.Series) -> pd.Series:
    """Each text cell stripped; None for every other cell."""
    if pd.api.types.infer_dtype(values, skipna=True) == "string":
        return values.str.strip().astype(object)
    return values.map(lambda v: v.strip() if isinstance(v, str) else None)


def _decide_order(numeric: dict, dayfirst: bool | None) -> tuple[bool, str]:
    if dayfirst is not None:
        return dayfirst, ("dates read day-first (--dayfirst)" if dayfirst
                          else "dates read month-first (--monthfirst)")
    day_first = [t for t, (a, b, _, _) in numeric.items() if a > 12 >= b]
    month_first = [t for t, (a, b, _, _) in numeric.items() if b > 12 >= a]
    if day_first and month_first:
        raise AmbiguousDates(f"dates are written both day-first ({day_first[0]}) and month-first "
                             f"({month_first[0]}) in one column: fix the column, or run again "
                             "with --dayfirst or --monthfirst")
    if day_first:
        return True, f"dates read day-first (as {day_first[0]} shows)"
    if month_first:
        return False, f"dates read month-first (as {month_first[0]} shows)"
    if all(sep == "." for (_, _, _, sep) in numeric.values()):
        return True, "dates with dots read day-first (as 31.12.2025 is written)"
    example = next(t for t, (a, b, _, _) in numeric.items() if a != b) \
        if any(a != b for (a, b, _, _) in numeric.values()) else next(iter(numeric))
    a, b, year, _ = numeric[example]
    raise AmbiguousDates(
        f"dates like {example} read either day-first ({_spoken(_year(year), b, a)}) or "
        f"month-first ({_spoken(_year(year), a, b)}): run again with --dayfirst or --monthfirst")


def _spoken(year: int, month: int, day: int) -> str:
    try:
        return dt.date(year, month, day).strftime("%d %B %Y").lstrip("0")
    except ValueError:
        return "not a date"


def _year(text: str) -> int:
    year = int(text)
    return year + 2000 if len(text) == 2 and year < 70 else year + 1900 if len(text) == 2 \
        else year


#: Dates an export may hold: the days clv-xl computes with (clv_xl/book/dates.py).
DATE_RANGE = (pd.Timestamp(FIRST_DAY), pd.Timestamp(LAST_DAY))


def _make(year: int, month: int, day: int):
    """The day, or None when there is no such day or it lies outside ``DATE_RANGE`` (the
    text is then left for the validator to name)."""
    try:
        day = pd.Timestamp(year, month, day)
    except (ValueError, OverflowError):
        return None
    return day if DATE_RANGE[0] <= day <= DATE_RANGE[1] else None


def _from_serial(number: float):
    if SERIAL_RANGE[0] <= number < SERIAL_RANGE[1]:
        return _EXCEL_EPOCH + pd.Timedelta(days=int(number))
    return None


def _with_dateutil(text: str, dayfirst: bool):
    from dateutil import parser

    try:
        stamp = parser.parse(text, dayfirst=dayfirst, default=dt.datetime(2000, 1, 1))
        return _make(stamp.year, stamp.month, stamp.day)
    except (ValueError, OverflowError, TypeError, parser.ParserError):
        return None


# --- amounts ------------------------------------------------------------------------------

_EDGE = re.compile(r"^(?:[A-Za-z]{1,3}\.?|[A-Za-z]{1,2}\$)$")


def parse_amounts(values: pd.Series) -> pd.Series:
    """The column with every readable amount as a float (negatives kept: refunds)."""
    out = values.astype(object).copy()
    texts = _texts(out)
    distinct = [t for t in pd.unique(texts.dropna()) if t]
    if not distinct:
        return out
    cores = {t: _core(t) for t in distinct}
    decimal = decimal_mark([c[1] for c in cores.values() if c is not None])
    parsed = {t: _number(*c, decimal) for t, c in cores.items() if c is not None}
    found = texts.map(parsed)
    readable = found.notna().to_numpy(bool)
    out[readable] = found[readable].astype(float)
    return out


def _core(text: str) -> tuple[bool, str] | None:
    """(negative, digits with their separators) of an amount's text, or None."""
    s = text.replace("\u00a0", " ").replace("\u202f", " ").strip()
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1].strip()
    s, prefix = _strip_edge(s, front=True)
    s, suffix = _strip_edge(s, front=False)
    if s.endswith("-"):
        negative, s = not negative, s[:-1].strip()
    if s.startswith("-") or s.startswith("\u2212"):
        negative, s = not negative, s[1:].strip()
    elif s.startswith("+"):
        s = s[1:].strip()
    s, _ = _strip_edge(s, front=True)  # "-$35.00"
    s = re.sub(r"(?<=\d)[ '’](?=\d{3})", "", s)
    if not re.fullmatch(r"\d[\d.,]*|[.,]\d+", s):
        return None
    return negative, s


def _strip_edge(s: str, front: bool) -> tuple[str, str]:
    """Take a currency symbol or code off one end of ``s``."""
    match = re.match(r"^(\D+?)\s*(?=[\d.,(+\-\u2212])", s) if front else \
        re.search(r"(?<=[\d.,)])\s*(\D+?)$", s)
    if not match:
        return s, ""
    edge = match.group(1).strip()
    if edge and (all(unicodedata.category(ch) == "Sc" for ch in edge) or _EDGE.match(edge)
                 or edge in ("zł", "Kč", "Ft", "kr.", "лв", "₽", "R$", "S/", "CHF", "Fr.")):
        return (s[match.end():] if front else s[:match.start()]).strip(), edge
    return s, ""


def decimal_mark(cores: list[str]) -> str:
    """"," when the column writes decimal commas (1.200,50 or 35,5), else "."."""
    comma = point = 0
    for s in cores:
        last_comma, last_point = s.rfind(","), s.rfind(".")
        if last_comma >= 0 and last_point >= 0:
            comma += last_comma > last_point
            point += last_point > last_comma
        elif last_comma >= 0:  # 35,50 votes comma; 1,200,000 votes point; 1,200 neither
            tail = len(s) - last_comma - 1
            comma += tail != 3 or s.startswith("0,")
            point += tail == 3 and s.count(",") > 1
        elif last_point >= 0:  # 35.50 votes point; 1.200.000 votes comma; 1.200 neither
            tail = len(s) - last_point - 1
            point += tail != 3 or s.startswith("0.")
            comma += tail == 3 and s.count(".") > 1
    return "," if comma > point else "."


def _number(negative: bool, s: str, decimal: str) -> float | None:
    if decimal == ",":
        s = s.replace(".", "").replace(",", ".")
    else:
        s = s.replace(",", "")
    if s.count(".") > 1:
        return None
    try:
        value = float(s)
    except ValueError:
        return None
    return -value if negative else value
