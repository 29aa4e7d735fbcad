"""A stand-in for the ``xlwings`` module that xlwings Lite provides inside Pyodide.

The classic xlwings package on a test machine is not Lite: outside Windows its ``func`` and
``arg`` attach nothing, and its Office.js custom-function code needs an xlwings PRO licence.
This stand-in provides what clv_xl.lite uses (``func``, ``arg``, ``ret``, ``script``, ``Book``,
``XlwingsError``) and records the metadata as xlwings' Office.js decorators do (a
``__xlfunc__`` dict: name, args with doc/options/optional default, ret doc). :func:`call`
passes arguments the way xlwings' Office.js dispatch does (read in xlwings 0.37,
``xlwings/pro/udfs_officejs.py``, ``custom_functions_call`` and ``to_scalar``), with the values
the xlwings docs say Excel sends:

* every argument arrives as a matrix (a list of rows); a 1x1 matrix becomes the scalar, a
  single row becomes a flat list, and the ``ndim=2`` option makes any of them a list of rows;
* an omitted argument arrives as None and takes the Python default;
* an empty cell arrives as 0, an integer as int, a date as its serial number;
* an exception becomes #VALUE! with the message (here a :class:`ValueCell`); NaN becomes #NUM!.

Put it in ``sys.modules["xlwings"]`` (or on ``sys.path`` as ``xlwings.py``) before importing
clv_xl.lite.functions or clv_xl.lite.scripts.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass

STANDIN = True


class XlwingsError(Exception):
    pass


class Book:
    """Type hint of a script's argument (Lite passes its own Book)."""


def _info(f):
    if not hasattr(f, "__xlfunc__"):
        params = list(inspect.signature(f).parameters.values())
        f.__xlfunc__ = {
            "name": f.__name__,
            "args": [{"name": p.name, "doc": f"Positional argument {i + 1}", "options": {},
                      **({} if p.default is inspect.Parameter.empty else {"optional": p.default})}
                     for i, p in enumerate(params)],
            "ret": {"doc": f.__doc__ or f"Python function '{f.__name__}'", "options": {}},
        }
    return f.__xlfunc__


def func(f=None, **kwargs):
    def inner(f):
        _info(f).update(kwargs)
        return f
    return inner if f is None else inner(f)


def arg(name, convert=None, **kwargs):
    def inner(f):
        argmap = {a["name"]: a for a in _info(f)["args"]}
        if name not in argmap:
            raise Exception(f"Invalid argument name '{name}'.")
        if "doc" in kwargs:
            argmap[name]["doc"] = kwargs.pop("doc")
        argmap[name]["options"].update(kwargs, **({"convert": convert} if convert else {}))
        return f
    return inner


def ret(convert=None, **kwargs):
    def inner(f):
        _info(f)["ret"]["options"].update(kwargs)
        return f
    return inner


def script(f=None, **kwargs):
    def inner(f):
        f.__xlscript__ = {"name": f.__name__, **kwargs}
        return f
    return inner if f is None else inner(f)


@dataclass(frozen=True)
class ValueCell:
    """What Excel shows for a custom function that raised: #VALUE!, message on hover."""

    message: str


def cell(value):
    """One cell as Excel sends it: a 1x1 matrix (an empty cell is 0)."""
    return [[value]]


def _to_scalar(value):
    if isinstance(value, list) and len(value) == 1:
        first = value[0]
        return first[0] if isinstance(first, list) and len(first) == 1 else first
    return value


def _read(value, options):
    if options.get("ndim") == 2:
        if not isinstance(value, list):
            return [[value]]
        if not value or not isinstance(value[0], list):
            return [value]
    return value


def call(function, *matrices):
    """Call a Lite custom function as xlwings Lite does; the answer as Excel shows it."""
    infos = function.__xlfunc__["args"]
    args = []
    for info, matrix in zip(infos, list(matrices) + [None] * (len(infos) - len(matrices))):
        value = None if matrix is None else _to_scalar(matrix)
        args.append(info.get("optional") if value is None else _read(value, info["options"]))
    try:
        answer = function(*args)
    except Exception as error:  # noqa: BLE001 - Excel shows #VALUE! with the message
        return ValueCell(str(error))
    return _write(answer)


def _write(answer):
    if not isinstance(answer, list):
        rows = [[answer]]
    else:
        rows = answer if answer and isinstance(answer[0], list) else [answer]
    return [["#NUM!" if isinstance(v, float) and math.isnan(v) else v for v in row]
            for row in rows]
