"""Every Excel formula of clv-xl as an xlwings Lite custom function: =CLV(...), =P_ALIVE(...), ...

The formulas are not written again here. For each formula in
:data:`clv_xl.excel.function.REGISTRY` (all of :mod:`clv_xl.excel.udfs`, and any formula added
there later), :func:`lite_formula` makes a Lite function of the same name, arguments, defaults
and help, decorated with Lite's ``@func`` and ``@arg``. A call:

1. takes the cells as Lite passes them and makes them what classic xlwings would pass
   (:func:`clv_xl.lite.cells.classic_value`: empty cells arrive as 0, dates as serial numbers);
2. runs the classic formula: the same argument conversion, the same engine call;
3. answers as the classic formula does (a range spills as a dynamic array, a bad cell in a
   range shows its message in that cell), except that when the whole answer is an error, it
   raises, and Lite shows a real ``#VALUE!`` whose message appears when you point at the cell.
"""

from __future__ import annotations

import inspect

import xlwings
from xlwings import arg, func

from ..excel import udfs  # noqa: F401  (fills REGISTRY)
from ..excel.args import DateArg
from ..excel.function import REGISTRY, ExcelFunction
from .cells import classic_value


class FormulaError(getattr(xlwings, "XlwingsError", ValueError)):
    """The formula's whole answer is an error: Lite shows #VALUE! with this message."""


def lite_formula(entry: ExcelFunction):
    """The Lite custom function for one classic formula."""
    classic = entry.function
    signature = inspect.signature(classic)  # the engine call's: names, order, defaults
    names = list(signature.parameters)

    def formula(*cells):
        values = [classic_value(entry.args.get(name), cell) for name, cell in zip(names, cells)]
        answer = classic(*values)
        if isinstance(answer, str) and answer.startswith(f"{entry.name}: "):
            raise FormulaError(answer)
        return answer

    formula.__name__ = formula.__qualname__ = entry.name
    formula.__doc__ = entry.help
    formula.__signature__ = signature
    formula.__module__ = __name__
    for name, spec in entry.args.items():
        options = {} if isinstance(spec, DateArg) else {"ndim": 2}
        formula = arg(name, doc=spec.doc, **options)(formula)
    return func(formula)


FORMULAS = {name: lite_formula(entry) for name, entry in REGISTRY.items()}
globals().update(FORMULAS)
__all__ = sorted(FORMULAS)
