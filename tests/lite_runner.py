"""Run every Lite formula and the Lite Recompute script in a Python without the desktop packages.

``python tests/lite_runner.py JOB.pickle`` (any Python with clv_xl, numpy, pandas and scipy):
the job holds the formula calls (cells as Lite passes them), the input sheets' rows and the
folder of the stand-in ``xlwings``. With ``block`` set, importing openpyxl, python-calamine,
pyOpenVBA, defusedxml or the classic xlwings fails, as in Pyodide. The answers, the Forecast
and Issues grids the script wrote and the modules loaded are pickled to JOB.pickle + ".out".
Used by tests/test_lite_split.py; stdlib and clv_xl only.
"""

import pickle
import sys

DESKTOP = ("openpyxl", "python_calamine", "pyopenvba", "defusedxml", "xlwings")


class BlockDesktop:
    """An import hook that refuses the desktop-only packages (the stand-in xlwings is allowed)."""

    def __init__(self, allowed_xlwings):
        self.allowed = allowed_xlwings

    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top in DESKTOP and not (top == "xlwings" and self.allowed):
            raise ImportError(f"{name} is not installed here (desktop only)")
        return None


class Cells:
    def __init__(self, sheet, top, left, bottom, right):
        self.sheet, self.box = sheet, (top, left, bottom, right)

    def options(self, **_):
        return self

    @property
    def last_cell(self):
        return type("Cell", (), {"row": self.box[2], "column": self.box[3]})

    @property
    def value(self):
        top, left, bottom, right = self.box
        return [[self.sheet.get(r, c) for c in range(left, right + 1)]
                for r in range(top, bottom + 1)]

    @value.setter
    def value(self, grid):
        top, left = self.box[:2]
        grid = grid if isinstance(grid, list) else [[grid]]
        for i, row in enumerate(grid):
            for j, v in enumerate(row):
                self.sheet.cells[(top + i, left + j)] = v

    def clear_contents(self):
        top, left, bottom, right = self.box
        for key in [k for k in self.sheet.cells if top <= k[0] <= bottom and left <= k[1] <= right]:
            del self.sheet.cells[key]


class Sheet:
    """The part of xlwings Lite's Sheet the LiteBook uses, over a dict of cells."""

    def __init__(self, name, rows):
        self.name = name
        self.cells = {(r + 1, c + 1): v for r, row in enumerate(rows)
                      for c, v in enumerate(row) if v is not None}

    def get(self, r, c):
        return self.cells.get((r, c))

    @property
    def used_range(self):
        rows = max((r for r, _ in self.cells), default=1)
        cols = max((c for _, c in self.cells), default=1)
        return Cells(self, 1, 1, rows, cols)

    def range(self, first, last=None):
        if isinstance(first, str):  # "A2"
            first = (int(first[1:]), ord(first[0]) - 64)
        last = last or first
        return Cells(self, *first, *last)

    def grid(self):
        box = self.used_range.box
        return Cells(self, *box).value if self.cells else []


class Book:
    def __init__(self, sheets):
        self.name = "book.xlsx"
        self.sheets = Sheets({name: Sheet(name, rows) for name, rows in sheets.items()})


class Sheets(dict):
    def __iter__(self):
        return iter(self.values())


def main(job_path):
    with open(job_path, "rb") as f:
        job = pickle.load(f)
    sys.path.insert(0, job["standin_dir"])
    if job["block"]:
        sys.meta_path.insert(0, BlockDesktop(allowed_xlwings=True))
    import xlwings

    assert getattr(xlwings, "STANDIN", False), xlwings.__file__
    from clv_xl.lite import functions, scripts

    answers = {}
    for name, examples in job["calls"].items():
        for label, matrices in examples:
            answers[(name, label)] = xlwings.call(getattr(functions, name), *matrices)
    book = Book(job["sheets"])
    scripts.recompute(book)
    out = {"answers": answers, "names": sorted(functions.__all__),
           "forecast": book.sheets["Forecast"].grid(), "issues": book.sheets["Issues"].grid(),
           "loaded": sorted({m.split(".")[0] for m in sys.modules}),
           "xlwings": xlwings.__file__}
    out["answers"] = {k: (v.message if isinstance(v, xlwings.ValueCell) else v)
                      for k, v in answers.items()}
    with open(job_path + ".out", "wb") as f:
        pickle.dump(out, f)


if __name__ == "__main__":
    main(sys.argv[1])
