"""The decorator that turns an engine call into an Excel formula.

``@cell_formula(...)`` is for formulas that work cell by cell: each argument is a cell or a
range, the ranges must be the same size, and the answer has that size. A bad cell gets its
own short message; a blank row gets a blank. ``@table_formula(...)`` is for formulas that
spill a table with a header row. Either way a formula never shows a Python traceback.

Both register the function with xlwings (category "CLV") and in :data:`REGISTRY`, which the
tests read (xlwings' decorators attach nothing outside Windows).
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xlwings as xw

from .args import ArgumentError, DateArg, grid, single_cell

CATEGORY = "CLV"


@dataclass(frozen=True)
class ExcelFunction:
    name: str
    function: object
    args: dict
    help: str


REGISTRY: dict[str, ExcelFunction] = {}


def cell_formula(unbounded="the answer is not a finite number for these inputs", **specs):
    """Cell-by-cell formula; ``specs`` maps each argument to a Number, Flag or SettingsRange;
    ``unbounded`` is the message for a cell whose answer is infinite."""

    def decorate(compute):
        name = compute.__name__
        per_cell = {k: s for k, s in specs.items() if hasattr(s, "required")}

        def part(cells, shape, whole, single):
            """The answers for ``cells`` (a block of whole rows) as an object array."""
            converted = {k: per_cell[k].convert(np.broadcast_to(c, shape))
                         for k, c in cells.items()}
            reasons = _first_reason([r for _, r in converted.values()], shape)
            numbers = {k: v for k, (v, _) in converted.items()}
            result = np.asarray(compute(**numbers, **whole), dtype=object)
            result = np.broadcast_to(result, shape).copy()
            infinite = np.vectorize(lambda v: isinstance(v, float) and np.isinf(v),
                                    otypes=[bool])(result)
            reasons = np.where((reasons == "") & infinite, unbounded, reasons)
            result[reasons != ""] = [f"{name}: {r}" for r in reasons[reasons != ""]]
            if not single:
                result[_all_blank(cells, per_cell, shape)] = ""
            return result

        @functools.wraps(compute)
        def formula(*args):
            try:
                values = _bind(compute, args)
                cells = {k: grid(v) for k, v in values.items() if k in per_cell}
                shape = _common_shape(cells, per_cell)
                whole = {k: specs[k].convert(v) for k, v in values.items() if k not in per_cell}
                single = all(c.shape == (1, 1) for c in cells.values())
                result = np.empty(shape, dtype=object)
                for rows in _blocks(shape):  # a block at a time: memory bounded by the block
                    block = {k: c if c.shape == (1, 1) else c[rows] for k, c in cells.items()}
                    result[rows] = part(block, result[rows].shape, whole, single)
                return _to_excel(result, single=single)
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
    (number,), (reason,) = (a.ravel() for a in spec.convert(cells))
    if reason:
        raise ArgumentError(reason)
    return number


def _register(formula, compute, specs):
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


def _first_reason(reason_grids, shape) -> np.ndarray:
    reasons = np.full(shape, "", dtype=object)
    for grid_ in reversed(reason_grids):
        reasons = np.where(grid_ != "", grid_, reasons)
    return reasons


#: A cell formula converts and computes this many cells at a time (whole rows): its
#: temporaries stay within a few tens of MB whatever the range (bench/memory.py).
BLOCK_CELLS = 50_000


def _blocks(shape) -> list[slice]:
    step = max(1, BLOCK_CELLS // max(shape[1], 1))
    return [slice(start, start + step) for start in range(0, max(shape[0], 1), step)]


def _all_blank(cells, specs, shape) -> np.ndarray:
    """Rows whose required cells are all blank (the caller skips this for single cells)."""
    required = [np.broadcast_to(c, shape) for k, c in cells.items() if specs[k].required]
    if not required:
        return np.zeros(shape, dtype=bool)
    blank = np.vectorize(lambda v: v is None or (isinstance(v, str) and not v.strip()),
                         otypes=[bool])
    return np.logical_and.reduce([blank(c) for c in required])


def _to_excel(result: np.ndarray, single: bool):
    cells = [[_excel_value(v) for v in row] for row in result]
    return cells[0][0] if single else cells


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
