"""The batch run, written once for both doors: read, validate, compute, forecast, write.

:func:`recompute` takes any :class:`~clv_xl.batch.book.Book`. A bad row never stops it: it is
listed in Issues and the good rows are computed. A missing sheet or column raises
:class:`~clv_xl.validate.SchemaError` (naming it) before anything is written.
"""

from __future__ import annotations

import datetime as dt
import time

import pandas as pd

from ..metrics import client_metrics
from ..schema import CLIENTS, CONTACTS, INPUT_SHEETS, SESSIONS
from ..settings import Settings, settings_from_rows
from ..validate import SchemaError, fold, validate_sheet
from . import outputs as out

SETTINGS_SHEET = "Settings"
#: Where each stage ends, as a fraction of the whole run (for the progress bar).
_STAGE_END = {"read": 0.40, "validate": 0.60, "compute": 0.72, "forecast": 0.85, "write": 1.0}


def recompute(book, as_of=None, now: dt.datetime | None = None) -> out.Outputs:
    """Recompute ``book``: its Forecast and Issues sheets are replaced through
    ``book.write_outputs``; the outputs are returned (with ``timings`` in seconds per stage)."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now_ = time.perf_counter()
        timings[stage] = timings.get(stage, 0.0) + now_ - clock
        clock = now_
        book.progress(stage, _STAGE_END[stage])

    # read: every input sheet, and check every sheet and required column before anything else
    names = book.sheet_names()
    missing = [s.name for s in INPUT_SHEETS if s.name not in names]
    if missing:
        listed = ", ".join(repr(m) for m in missing)
        raise SchemaError(f"{book.name} has no sheet{'s' * (len(missing) > 1)} named {listed}")
    book.progress("read", 0.0)
    raw: dict[str, tuple[pd.DataFrame, int]] = {}
    for i, sheet in enumerate(INPUT_SHEETS):
        frame, first_row = rows_to_frame(book.read_rows(sheet.name), sheet.name)
        raw[sheet.name] = _check_columns(sheet, frame), first_row
        book.progress(f"read {sheet.name}", _STAGE_END["read"] * (i + 1) / (len(INPUT_SHEETS) + 1))
    given = {}
    if SETTINGS_SHEET in names:
        given = settings_from_rows(book.read_rows(SETTINGS_SHEET), strict=False)
    settings = Settings({k: v for k, v in given.items() if v is not None})
    as_of = pd.Timestamp(as_of or settings.as_of or dt.date.today()).normalize()
    lap("read")

    # validate: clients first, then the sheets that refer to them
    clients, problems = validate_sheet(CLIENTS, *raw[CLIENTS.name])
    ids = clients["client_id"]
    sessions, found = validate_sheet(SESSIONS, *raw[SESSIONS.name], client_ids=ids, as_of=as_of)
    problems += found
    contacts, found = validate_sheet(CONTACTS, *raw[CONTACTS.name], client_ids=ids, as_of=as_of)
    problems += found
    counts = {name: _filled_rows(frame) for name, (frame, _) in raw.items()}
    issue_rows = len({(p.sheet, p.row) for p in problems})
    lap("validate")

    metrics = client_metrics(clients, sessions, contacts, settings, as_of)
    lap("compute")

    from ..forecast import forecast

    result = forecast(ids, sessions, as_of, settings, months=12)  # time unit from Settings
    table = out.forecast_table(clients, metrics, result.table)
    lap("forecast")

    outputs = out.Outputs(
        forecast=table, issues=out.issues_table(problems),
        status=out.status_line(now or dt.datetime.now(), as_of, counts, issue_rows,
                               result.message),
        figures=out.figures(table, result.model),
        counts={**counts, "issue_rows": issue_rows, "clients_computed": len(table),
                "errors": sum(p.severity == "error" for p in problems),
                "warnings": sum(p.severity != "error" for p in problems)},
        as_of=as_of.date(), timings=timings)
    book.write_outputs(outputs)
    lap("write")
    return outputs


def rows_to_frame(rows: list[list], sheet: str) -> tuple[pd.DataFrame, int]:
    """The raw rows of a sheet (from row 1) as a DataFrame under its header, and the sheet
    row of the first data row. The header is the first row with any value; columns with a
    blank header and trailing blank rows are left out."""
    header_at = next((i for i, row in enumerate(rows)
                      if any(v is not None and str(v).strip() != "" for v in row)), None)
    if header_at is None:
        raise SchemaError(f"sheet {sheet!r} is empty: it needs a header row")
    header = [None if v is None else str(v).strip() for v in rows[header_at]]
    keep = [j for j, h in enumerate(header) if h]
    end = len(rows)
    while end > header_at + 1 and all(v is None or v == "" for v in rows[end - 1]):
        end -= 1
    body = rows[header_at + 1:end]
    width = len(header)
    if any(len(row) != width for row in body):
        body = [list(row[:width]) + [None] * (width - len(row)) for row in body]
    frame = pd.DataFrame(body, columns=range(width), dtype=object) if body else \
        pd.DataFrame(columns=range(width), dtype=object)
    frame = frame[keep]
    frame.columns = [header[j] for j in keep]
    return frame, header_at + 2


def _filled_rows(frame: pd.DataFrame) -> int:
    return int(frame.notna().any(axis=1).sum()) if len(frame) else 0


def _check_columns(sheet, frame: pd.DataFrame) -> pd.DataFrame:
    """The schema's columns of ``frame`` (computed columns beside them are left out); every
    one must be in the sheet's header (case and spaces ignored), else SchemaError."""
    wanted = {fold(name) for c in sheet.columns for name in (c.header, c.key)}
    present = {fold(c) for c in frame.columns}
    missing = [c.header for c in sheet.columns
               if fold(c.header) not in present and fold(c.key) not in present]
    if not missing:
        keep = [c for c in frame.columns if fold(c) in wanted]
        return frame.loc[:, ~frame.columns.duplicated()][list(dict.fromkeys(keep))]
    names = ", ".join(repr(m) for m in missing)
    verb = "is" if len(missing) == 1 else "are"
    raise SchemaError(f"{sheet.name}: column{'s' * (len(missing) > 1)} {names} {verb} "
                      "missing from the header row")
