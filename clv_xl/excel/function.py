"""The decorator that turns an engine call into an Excel formula.

``@cell_formula(...)`` is for formulas that work cell by cell: each argument is a cell or a
range, the ranges must be the same size, and the answer has that size. A bad cell gets its
own short message; a blank row gets a blank. ``@table_formula(...)`` is for formulas that
spill a table with a header row. Either way a formula never shows a Python traceback.

Both register the function with xlwings (category "CLV") and in :data:`REGISTRY`, which the
tests and the xlwings Lite door (:mod:`clv_xl.lite`) read (xlwings' decorators attach nothing
outside Windows). Without classic xlwings (the Lite wheel, Pyodide) only :data:`REGISTRY` is filled.
"""

from __future__ import annotations

import datetime as dt
import contextlib
import functools
import gc
import math
import inspect
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd

try:
    import xlwings as xw
except ImportError:  # the engine installed without the desktop pieces
    xw = None
if sys.platform == "emscripten":  # xlwings Lite's xlwings: clv_xl.lite registers the formulas
    xw = None

from .args import (ArgumentError, DateArg, cells_of, grid, single_cell,
                   type_of as _type_of)

CATEGORY = "CLV"


@dataclass(frozen=True)
class ExcelFunction:
    name: str
    function: object
    args: dict
    help: str


REGISTRY: dict[str, ExcelFunction] = {}


@dataclass(frozen=True)
class Answers:
    """What a cell formula's ``compute`` may return when some cells get their own message:
    ``values`` (floats, NaN where none) and ``messages`` ("NAME: reason", "" where none)."""

    values: np.ndarray
    messages: np.ndarray


def cell_formula(unbounded="the answer is not a finite number for these inputs", **specs):
    """Cell-by-cell formula; ``specs`` maps each argument to a Number, Flag or SettingsRange;
    ``unbounded`` is the message for a cell whose answer is infinite.

    Each range is converted once, column-wide, and a single cell once (then broadcast);
    the answers go back to Excel as one object array made into lists.
    """

    def decorate(compute):
        name = compute.__name__
        per_cell = {k: s for k, s in specs.items() if hasattr(s, "required")}

        @functools.wraps(compute)
        def formula(*args):
            with _collector_paused():
                return answer(*args)

        def answer(*args):
            try:
                values = _bind(compute, args)
                cells = {k: cells_of(v) for k, v in values.items() if k in per_cell}
                shape = _common_shape(cells, per_cell)
                whole = {k: specs[k].convert(v) for k, v in values.items() if k not in per_cell}
                converted = {k: per_cell[k].convert(c) for k, c in cells.items()}
                numbers = {k: np.broadcast_to(c.values, shape) for k, c in converted.items()}
                answers = np.empty(shape, dtype=object)
                infinite = np.zeros(shape, dtype=bool)
                for rows in _blocks(shape):  # a block at a time: the engine's memory bounded
                    block = {k: v[rows] for k, v in numbers.items()}
                    answers[rows], infinite[rows] = _answers(compute(**block, **whole),
                                                             answers[rows].shape)
                _put_reasons(answers, infinite, list(converted.values()), shape, name,
                             unbounded)
                single = all(c.shape == (1, 1) for c in cells.values())
                if not single:
                    answers[_all_blank(converted, per_cell, shape)] = ""
                return answers[0, 0] if single else _rows(answers)
            except ArgumentError as error:
                return f"{name}: {error}"
            except Exception as error:  # a formula must answer with words, never a traceback
                return f"{name}: could not compute ({type(error).__name__}: {str(error)[:80]})"

        return _register(formula, compute, specs)

    return decorate


def table_formula(**specs):
    """Formula that spills a table (a DataFrame from ``compute``) under a header row."""

    def decorate(compute):
        name = compute.__name__

        @functools.wraps(compute)
        def formula(*args):
            try:
                values = _bind(compute, args)
                table = compute(**{k: _whole(specs[k], v) for k, v in values.items()})
                body = table.astype(object).where(table.notna(), "").to_numpy()
                return [list(table.columns)] + [[_finite(name, _excel_value(v)) for v in row]
                                                for row in body]
            except ArgumentError as error:
                return f"{name}: {error}"
            except Exception as error:
                return f"{name}: could not compute ({type(error).__name__}: {str(error)[:80]})"

        return _register(formula, compute, specs)

    return decorate


@contextlib.contextmanager
def _collector_paused():
    """Python's cycle collector off while a formula runs.

    A column's answer is one new list per row; while they are made the collector would scan
    every live object (Excel's ranges among them) again and again, for cycles that a
    formula's lists of numbers and text cannot form. Anything else is collected afterwards.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _finite(name: str, value):
    """A table cell: an infinite number (an overflow, e.g. from 1e308) as a short message."""
    if isinstance(value, float) and np.isinf(value):
        return f"{name}: the answer is not a finite number for these inputs"
    return value


def _bind(compute, args) -> dict:
    bound = inspect.signature(compute).bind(*args)
    bound.apply_defaults()
    return bound.arguments


def _whole(spec, value):
    """A table formula's argument: per-cell kinds must be given a single cell here."""
    if not hasattr(spec, "required"):
        return spec.convert(value)
    cells = grid([[single_cell(spec.label, value)]])
    converted = spec.convert(cells)
    number, reason = converted.values[0, 0], converted.reasons[0, 0]
    if reason:
        raise ArgumentError(reason)
    return number


def _register(formula, compute, specs):
    if xw is not None:
        for arg, spec in specs.items():
            options = {} if isinstance(spec, DateArg) else {"ndim": 2}
            formula = xw.arg(arg, doc=spec.doc, **options)(formula)
        formula = xw.func(category=CATEGORY)(formula)
    REGISTRY[compute.__name__] = ExcelFunction(compute.__name__, formula, specs,
                                               inspect.getdoc(compute) or "")
    return formula


def _common_shape(cells, specs) -> tuple[int, int]:
    first_of_shape = {}
    for key, cell_grid in cells.items():
        if cell_grid.shape != (1, 1):
            first_of_shape.setdefault(cell_grid.shape, specs[key].label)
    shapes = list(first_of_shape)
    if len(shapes) > 1:
        named = ", ".join(f"{first_of_shape[s]} {s[0]}x{s[1]}" for s in shapes[:2])
        more = ", ..." if len(shapes) > 2 else ""
        raise ArgumentError(f"ranges differ in size ({named}{more}); give ranges of one size "
                            "or single cells")
    return shapes[0] if shapes else (1, 1)


def _answers(result, shape):
    """``compute``'s result as the object array Excel is given (floats, text, messages; NaN
    as blank) and the mask of its infinite answers."""
    messages = None
    if isinstance(result, Answers):
        result, messages = result.values, result.messages
    array = np.broadcast_to(np.asarray(result), shape)
    if array.dtype.kind in "fiub":
        out = array.astype(object)
        infinite = np.isinf(array) if array.dtype.kind == "f" else np.zeros(shape, dtype=bool)
        if array.dtype.kind == "f":
            out[np.isnan(array)] = ""
    elif array.dtype.kind == "U":
        out, infinite = array.astype(object), np.zeros(shape, dtype=bool)
    elif (_type_of(array) == str).all():  # labels such as CHURN_REASON's
        out, infinite = array.astype(object), np.zeros(shape, dtype=bool)
    else:  # other Python objects: dates, numpy scalars, NaN among text
        infinite = _is_infinite(array).astype(bool)
        out = _to_excel_value(array).astype(object)
    if messages is not None:
        has_message = messages != ""
        out[has_message] = messages[has_message]
        infinite &= ~has_message
    return out, infinite


def _put_reasons(answers, infinite, converted, shape, name, unbounded) -> None:
    """Each bad cell gets "NAME: reason", the first argument's reason first; an infinite
    answer gets ``unbounded``."""
    reasons = np.full(shape, "", dtype=object)
    bad = np.zeros(shape, dtype=bool)
    for arg in reversed(converted):
        if arg.bad.any():
            bad_here = np.broadcast_to(arg.bad, shape)
            reasons = np.where(bad_here, np.broadcast_to(arg.reasons, shape), reasons)
            bad |= bad_here
    infinite = infinite & ~bad
    if infinite.any():
        answers[infinite] = f"{name}: {unbounded}"
    if bad.any():
        answers[bad] = [f"{name}: {r}" for r in reasons[bad]]


def _rows(answers: np.ndarray) -> list:
    """The answers as Excel takes a range: a list of rows, each a list (faster than
    ``tolist()``, which recurses once per row)."""
    cells = iter(answers.ravel().tolist())
    return list(map(list, zip(*[cells] * answers.shape[1])))


BLOCK_CELLS = 50_000
"""Cells a formula computes at once: a million-row range stays within a few hundred MB
(``python bench/memory.py``)."""


def _blocks(shape) -> list[slice]:
    step = max(1, BLOCK_CELLS // max(shape[1], 1))
    return [slice(start, start + step) for start in range(0, max(shape[0], 1), step)]


def _all_blank(converted, specs, shape) -> np.ndarray:
    """Rows where every required argument is blank: answered with a blank."""
    required = [np.broadcast_to(c.blank, shape) for k, c in converted.items()
                if specs[k].required]
    if not required:
        return np.zeros(shape, dtype=bool)
    return np.logical_and.reduce(required)


def _excel_value(value):
    if isinstance(value, (np.floating, float)):
        return "" if np.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day)
    return value


_to_excel_value = np.frompyfunc(_excel_value, 1, 1)
_is_infinite = np.frompyfunc(lambda v: isinstance(v, float) and math.isinf(v), 1, 1)
