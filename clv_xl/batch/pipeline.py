"""The batch run, written once for both doors: read, validate, compute, forecast, write.

:func:`recompute` takes any :class:`~clv_xl.batch.book.Book`. A bad row never stops it: it is
listed in Issues and the good rows are computed. A missing sheet or column raises
:class:`~clv_xl.book.validate.SchemaError` (naming it) before anything is written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..book.io import rows_to_frame
from ..book.layout import TRACKING_ROWS
from ..engine.metrics import client_figures
from ..book.schema import CLIENTS, CONTACTS, INPUT_SHEETS, SESSIONS
from ..book.settings import Settings, settings_from_rows
from ..engine.units import fold
from ..book.validate import SchemaError, validate_sheet
from . import outputs as out

SETTINGS_SHEET = "Settings"
#: Where each stage ends, as a fraction of the whole run (for the progress bar).
_STAGE_END = {"read": 0.40, "validate": 0.60, "compute": 0.72, "forecast": 0.85, "write": 1.0}


def recompute(book, as_of=None, now: dt.datetime | None = None) -> out.Outputs:
    """Recompute ``book``: its Forecast and Issues sheets are replaced through
    ``book.write_outputs``; the outputs are returned (with ``timings`` in seconds per stage).
    The run ends with ``book.close()`` (if the book has one), whether it succeeded or not."""
    try:
        with paused_gc():
            return _recompute(book, as_of, now)
    finally:
        close = getattr(book, "close", None)
        if close is not None:
            close()


@contextlib.contextmanager
def paused_gc():
    """Python's cycle collector off for the block. Reading a large book creates millions of
    cell objects and row lists, none of them in cycles; each collection the allocations
    trigger would walk them all again."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _recompute(book, as_of, now) -> out.Outputs:
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now_ = time.perf_counter()
        timings[stage] = timings.get(stage, 0.0) + now_ - clock
        clock = now_
        book.progress(stage, _STAGE_END[stage])

    book.progress("read", 0.0)
    inputs = load_inputs(book, as_of, lap)
    problems = inputs.problems
    issue_rows = len({(p.sheet, p.row) for p in problems})

    ids, (clients, sessions, contacts) = numbered_clients(inputs)
    metrics, churn = client_figures(clients, sessions, contacts, inputs.settings, inputs.as_of)
    metrics.index = ids
    lap("compute")

    from ..engine.forecast import forecast

    result = forecast(clients["client_id"], sessions, inputs.as_of, inputs.settings,
                      months=12, tracking_points=TRACKING_ROWS)  # time unit from Settings
    table = out.forecast_table(inputs.clients, metrics, result.table.set_axis(ids))
    lap("forecast")

    outputs = out.Outputs(
        forecast=table, issues=out.issues_table(problems),
        status=out.status_line(now or dt.datetime.now(), inputs.as_of, inputs.counts,
                               issue_rows, f"{churn.message} {result.message}"),
        figures=out.figures(table, result.model),
        tracking=out.tracking_table(result.tracking), tracking_note=result.tracking_note,
        counts={**inputs.counts, "issue_rows": issue_rows, "clients_computed": len(table),
                "errors": sum(p.severity == "error" for p in problems),
                "warnings": sum(p.severity != "error" for p in problems)},
        as_of=inputs.as_of.date(), timings=timings)
    book.write_outputs(outputs)
    lap("write")
    return outputs


def numbered_clients(inputs: "Inputs"):
    """(the client ids, the Clients, Sessions and Contacts tables with every client id
    replaced by the client's row number among the validated clients).

    The engine treats ids as opaque keys, and pandas groups and matches whole numbers
    without hashing and comparing text. Validation leaves the ids unique and every session's
    and contact's id known; an unknown referrer (already cleared) would become -1, no client.
    """
    ids = pd.Index(inputs.clients["client_id"], name="client_id")
    if not ids.is_unique:  # not after validation; kept as text rather than guessed
        return ids, (inputs.clients, inputs.sessions, inputs.contacts)
    numbered = []
    for table, columns in ((inputs.clients, ("client_id", "referred_by")),
                           (inputs.sessions, ("client_id",)), (inputs.contacts, ("client_id",))):
        table = table.copy(deep=False)
        for column in columns:
            table[column] = ids.get_indexer(table[column])
        numbered.append(table)
    return ids, tuple(numbered)


@dataclass(frozen=True)
class Inputs:
    """A book's input sheets, validated: the good rows, every problem, the settings in force."""

    clients: pd.DataFrame
    sessions: pd.DataFrame
    contacts: pd.DataFrame
    problems: list
    settings: Settings
    as_of: pd.Timestamp
    counts: dict  # filled rows per input sheet


def load_inputs(book, as_of=None, lap=lambda stage: None) -> Inputs:
    """Read every input sheet and the Settings of ``book`` and validate them, clients first.
    Every sheet and required column is checked before any row is; ``lap`` marks the end of
    the "read" and "validate" stages."""
    with paused_gc():
        return _load_inputs(book, as_of, lap)


def _load_inputs(book, as_of, lap) -> Inputs:
    names = book.sheet_names()
    missing = [s.name for s in INPUT_SHEETS if s.name not in names]
    if missing:
        listed = ", ".join(repr(m) for m in missing)
        raise SchemaError(f"{book.name} has no sheet{'s' * (len(missing) > 1)} named {listed}")
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

    clients, problems = validate_sheet(CLIENTS, *raw[CLIENTS.name])
    ids = clients["client_id"]
    sessions, found = validate_sheet(SESSIONS, *raw[SESSIONS.name], client_ids=ids, as_of=as_of)
    problems += found
    contacts, found = validate_sheet(CONTACTS, *raw[CONTACTS.name], client_ids=ids, as_of=as_of)
    problems += found
    counts = {name: _filled_rows(frame) for name, (frame, _) in raw.items()}
    problems += rows_outside_tables(book, raw)
    lap("validate")
    return Inputs(clients, sessions, contacts, problems, settings, as_of, counts)


def rows_outside_tables(book, raw: dict) -> list:
    """A warning per input sheet whose filled rows reach below its Excel table: the book's
    own formulas count the table's rows only, so the book and this run would disagree."""
    from ..book.validate import Problem

    last_rows = getattr(book, "table_last_rows", None)
    if last_rows is None:
        return []
    try:
        ends = last_rows()
    except Exception:  # noqa: BLE001 - a check, never a reason to stop
        return []
    found = []
    for name, (frame, first_row) in raw.items():
        end = ends.get(name)
        if end is None or frame.empty:
            continue
        filled = frame.notna().any(axis=1).to_numpy()
        rows = np.flatnonzero(filled) + first_row
        outside = rows[rows > end]
        if len(outside):
            found.append(Problem(
                name, int(outside[0]), "", None,
                f"{len(outside):,} filled row{'s' * (len(outside) > 1)} from row {outside[0]} "
                f"on lie below the {name} table (it ends at row {end}): the book's own formulas "
                "do not count them. Resize the table (Table Design > Resize Table) to include "
                "them", "warning"))
    return found


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
