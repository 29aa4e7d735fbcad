"""Build the template workbook with openpyxl: formulas, not values, apart from the inputs."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font

from ..book.schema import CLIENTS, CONTACTS, SEGMENTS, SESSIONS
from . import styles
from .calc import SHEET, add_calc, layout
from .dashboard import add_dashboard, add_segments
from .inputs import add_input_sheet, add_settings, client_table_rows
from .pages import add_forecast, add_issues, add_start, add_xlwings_conf

SHEET_ORDER = ("Start", "Settings", CLIENTS.name, SESSIONS.name, CONTACTS.name, "Segments",
               "Dashboard", "Forecast", "Issues", "xlwings.conf", SHEET)


def build_template(path, data=None, as_of=None) -> Path:
    """Write the workbook to ``path`` and return it.

    ``data`` (a :class:`clv_xl.demo.DemoData` or anything with ``clients``, ``sessions``,
    ``contacts`` DataFrames keyed like :mod:`clv_xl.book.schema`) fills the input tables; without it
    the book is the empty template. ``as_of`` goes into Settings (default: the data's as-of
    date; blank, meaning today, for the empty template).
    """
    path = Path(path)
    if as_of is None and data is not None:
        as_of = getattr(data, "as_of", None)
    if as_of is not None:
        as_of = pd.Timestamp(as_of).date()
    wb = Workbook()
    wb.remove(wb.active)
    _default_font(wb)
    frames = {} if data is None else {CLIENTS.name: data.clients, SESSIONS.name: data.sessions,
                                      CONTACTS.name: data.contacts}
    add_start(wb)
    add_settings(wb, as_of)
    for sheet in (CLIENTS, SESSIONS, CONTACTS):
        add_input_sheet(wb, sheet, frames.get(sheet.name))
    names = _segment_names(data)
    add_segments(wb, names)
    add_dashboard(wb, len(names))
    add_forecast(wb)
    add_issues(wb)
    add_xlwings_conf(wb)
    add_calc(wb, layout(client_table_rows(frames.get(CLIENTS.name)),
                        *(len(frames.get(s.name, ())) for s in (SESSIONS, CONTACTS))))
    assert tuple(wb.sheetnames) == SHEET_ORDER, wb.sheetnames
    wb.active = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def build_books(folder, demo: bool = False, on_written=None) -> list[Path]:
    """The committed books: the template, its macro-enabled copy with the VBA source beside it,
    and with ``demo`` the demo book. Returns the paths written; ``on_written(path, seconds)``
    is called as each file is done (the VBA source included)."""
    from ..demo import demo_data
    from .macro import build_macro_template, write_vba_sources

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    steps = [lambda: build_template(folder / "clv_template.xlsx"),
             lambda: build_macro_template(folder / "clv_template.xlsx",
                                          folder / "clv_template.xlsm"),
             lambda: write_vba_sources(folder / "vba")]
    if demo:
        steps.append(lambda: build_template(folder / "clv_demo.xlsx", demo_data()))
    written = []
    for step in steps:
        started = time.perf_counter()
        path = step()
        if on_written is not None:
            on_written(path, time.perf_counter() - started)
        if path.suffix != ".bas":  # the VBA source is reported, not returned
            written.append(path)
    return written


def _segment_names(data) -> list[str]:
    """The schema's segments, then any other segment the data uses (sorted)."""
    names = list(SEGMENTS)
    if data is not None:
        extra = sorted(set(data.clients["segment"].dropna().astype(str)) - set(names))
        names += extra
    return names


def _default_font(wb) -> None:
    """Calibri 11 as the workbook's Normal style, so untouched cells use it too."""
    normal = next(s for s in wb._named_styles if s.name == "Normal")
    normal.font = Font(name=styles.FONT_NAME, size=11)

