"""Compare two workbooks by content, not bytes: sheets, cells, formulas, names, tables,
validations, conditional formats, protection and charts.

``describe(path)`` turns a book into plain, comparable Python data; ``differences(a, b)``
lists what differs, in words, so a test failure says where to look.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.worksheet.formula import ArrayFormula


def describe(path) -> dict:
    """A canonical description of the workbook at ``path`` (formulas as written)."""
    wb = load_workbook(Path(path))
    book = {"sheets": [(ws.title, ws.sheet_state) for ws in wb.worksheets],
            "names": {name: dn.attr_text for name, dn in wb.defined_names.items()}}
    for ws in wb.worksheets:
        book[f"{ws.title}!names"] = {n: d.attr_text for n, d in ws.defined_names.items()}
        book[f"{ws.title}!cells"] = _cells(ws)
        book[f"{ws.title}!layout"] = {
            "freeze": ws.freeze_panes, "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "protected": bool(ws.protection.sheet), "print_area": ws.print_area,
            "widths": {k: round(v.width, 2) for k, v in sorted(ws.column_dimensions.items())
                       if v.width},
            "charts": [type(c).__name__ for c in ws._charts],
        }
        book[f"{ws.title}!tables"] = {
            t.displayName: (t.ref, [(c.name, c.calculatedColumnFormula.attr_text
                                     if c.calculatedColumnFormula is not None else None)
                                    for c in t.tableColumns])
            for t in ws.tables.values()}
        book[f"{ws.title}!validations"] = sorted(
            (str(v.sqref), v.type, v.operator, v.formula1, v.formula2, v.showErrorMessage,
             v.error, v.prompt, v.allow_blank) for v in ws.data_validations.dataValidation)
        book[f"{ws.title}!conditional"] = sorted(
            (str(cf.sqref), rule.type, rule.operator, tuple(rule.formula or ()))
            for cf in ws.conditional_formatting for rule in cf.rules)
    return book


def _cells(ws) -> dict:
    cells = {}
    for row in ws.iter_rows():
        for cell in row:
            if cell.value is None and not cell.has_style:
                continue
            value = cell.value
            if isinstance(value, (dt.date, dt.datetime)):
                value = value.isoformat()
            elif isinstance(value, ArrayFormula):  # compared by what it says, not identity
                value = ("array", value.ref, value.text)
            link = cell.hyperlink.location if cell.hyperlink is not None else None
            cells[cell.coordinate] = (value, cell.number_format, bool(cell.protection.locked),
                                      cell.font.name, link)
    return cells


def differences(a, b, limit: int = 20) -> list[str]:
    """What differs between the workbooks ``a`` and ``b`` (at most ``limit`` lines)."""
    left, right = describe(a), describe(b)
    found = []
    for key in sorted(set(left) | set(right)):
        x, y = left.get(key), right.get(key)
        if x == y:
            continue
        if isinstance(x, dict) and isinstance(y, dict):
            for sub in sorted(set(x) | set(y), key=str):
                if x.get(sub) != y.get(sub):
                    found.append(f"{key}[{sub}]: {x.get(sub)!r} != {y.get(sub)!r}")
        else:
            found.append(f"{key}: {x!r} != {y!r}")
    return found[:limit]
