"""What the batch run writes, built from the engine's results by pure functions.

:class:`Outputs` holds the Forecast table (one row per client: today's figures from
:func:`clv_xl.engine.metrics.client_figures` and the model forecast), the Issues table, the status
line and the figures. :func:`forecast_grid` and :func:`issues_grid` lay them out cell by cell
from A1, the same way for both doors.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..book.layout import (FORECAST_FIGURE_ROW, FORECAST_FIGURES, FORECAST_HEADER_ROW,
                           FORECAST_HEADERS, ISSUES_HEADERS, STATUS_SUMMARY_END,
                           TRACKING_FIRST_COLUMN, TRACKING_HEADERS, TRACKING_NOTE_ROW,
                           TRACKING_TITLE, TRACKING_TITLE_ROW)

TITLE = "Forecast"
#: Engine column (client_figures, or clients for the name) behind each Forecast header.
ENGINE_COLUMNS = {
    "Client ID": "client_id", "Name": "name", "Segment": "segment",
    "Stage": "lifecycle_stage", "Churn risk": "churn_risk", "Risk band": "risk_band",
    "Main reason": "main_reason", "Revenue": "revenue", "CLV": "clv", "TLV": "tlv",
}
MODEL_COLUMNS = {
    "P(alive)": "p_alive", "1 − P(alive)": "p_not_alive",
    "P(no purchase, 12 months)": "p_no_purchase_12m",
    "Expected sessions (12 months)": "expected_sessions_12m",
    "Expected order value": "expected_order_value", "Model CLV (12 months)": "model_clv_12m",
}
assert tuple(ENGINE_COLUMNS) + tuple(MODEL_COLUMNS) == FORECAST_HEADERS


@dataclass
class Outputs:
    forecast: pd.DataFrame  # columns: FORECAST_HEADERS
    issues: pd.DataFrame  # columns: ISSUES_HEADERS
    status: str
    figures: list[tuple[str, object]]
    counts: dict = field(default_factory=dict)  # rows read per sheet, issue rows, ...
    as_of: dt.date | None = None
    timings: dict = field(default_factory=dict)  # seconds per stage
    tracking: pd.DataFrame | None = None  # columns: TRACKING_HEADERS (None or empty: no model)
    tracking_note: str = ""


def forecast_table(clients: pd.DataFrame, metrics: pd.DataFrame,
                   model: pd.DataFrame | None) -> pd.DataFrame:
    """One row per client of ``metrics`` (in its order) under the Forecast headers.

    ``clients``: the validated Clients rows (for the name); ``model``: the forecast table
    indexed by client id (missing clients and columns give blanks)."""
    ids = metrics.index
    names = pd.Series(clients["name"].to_numpy(), index=clients["client_id"].to_numpy())
    names = names[~names.index.duplicated()]
    table = pd.DataFrame(index=range(len(ids)))
    for header, key in ENGINE_COLUMNS.items():
        if key == "client_id":
            table[header] = np.asarray(ids, dtype=object)
        elif key == "name":
            table[header] = names.reindex(ids).to_numpy()
        else:
            table[header] = metrics[key].to_numpy()
    model = model if model is not None else pd.DataFrame(index=ids)
    for header, key in MODEL_COLUMNS.items():
        column = model[key] if key in model else pd.Series(np.nan, index=model.index)
        table[header] = pd.to_numeric(column, errors="coerce").reindex(ids).to_numpy(float)
    return table


def tracking_table(tracking: pd.DataFrame | None) -> pd.DataFrame:
    """The engine's tracking table (:func:`clv_xl.engine.tracking.cumulative_tracking`:
    period, actual, expected, holdout) under the tracking headers, the model split in its
    fitted and holdout parts (the last fitted date in both, so that the two lines join)."""
    if tracking is None or tracking.empty:
        return pd.DataFrame(columns=list(TRACKING_HEADERS))
    holdout = tracking["holdout"].to_numpy(dtype=bool)
    expected = tracking["expected"].to_numpy(dtype=float)
    joins = np.zeros_like(holdout)
    if holdout.any() and not holdout.all():
        joins[np.flatnonzero(~holdout)[-1]] = True
    date, actual, fitted, forecast = TRACKING_HEADERS
    return pd.DataFrame({
        date: [pd.Timestamp(d).to_pydatetime() for d in tracking["period"]],
        actual: tracking["actual"].to_numpy(dtype=float),
        fitted: np.where(~holdout, expected, np.nan),
        forecast: np.where(holdout | joins, expected, np.nan),
    })


#: Rows of one kind of problem (same sheet, column and reason, the quoted value aside) listed
#: one by one; the others of that kind are summed up in one row below them.
ROWS_PER_PROBLEM = 100
#: The Issues sheet stops here, below the 1,048,576 rows Excel and LibreOffice open.
MAX_ISSUE_ROWS = 1_000_000
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def issues_table(problems, per_problem: int = ROWS_PER_PROBLEM,
                 max_rows: int = MAX_ISSUE_ROWS) -> pd.DataFrame:
    """The Problems of every sheet, in sheet order then row, under the Issues headers.

    A problem repeated more than ``per_problem`` times (same sheet, column and reason, e.g.
    300,000 sessions of an unknown client) is listed for its first ``per_problem`` rows, and
    one row after that sheet's rows says how many more there are and where. At most
    ``max_rows`` rows are written; a last row says how many were left out."""
    groups: dict[tuple, list] = {}
    for problem in problems:
        key = (problem.sheet, problem.column, _QUOTED.sub("'…'", problem.reason),
               problem.severity)
        groups.setdefault(key, []).append(problem)
    hidden = set()
    summaries: dict[str, list[tuple]] = {}
    for (sheet, column, kind, severity), found in groups.items():
        if len(found) <= per_problem:
            continue
        rest = found[per_problem:]
        hidden.update(map(id, rest))
        rows = [p.row for p in rest]
        summaries.setdefault(sheet, []).append((
            sheet, None, column, f"{len(rest):,} more",
            f"{kind}: {len(rest):,} more rows like this, rows {min(rows):,} to {max(rows):,} "
            f"(the first {per_problem:,} are listed above)", severity))
    rows = []
    sheet_order = list(dict.fromkeys(p.sheet for p in problems))
    for sheet in sheet_order:
        rows += [(p.sheet, p.row, p.column, _value(p.value), p.reason, p.severity)
                 for p in problems if p.sheet == sheet and id(p) not in hidden]
        rows += summaries.get(sheet, [])
    if len(rows) > max_rows:
        left_out = len(rows) - (max_rows - 1)
        rows = rows[:max_rows - 1] + [(None, None, None, f"{left_out:,} more", (
            f"{left_out:,} more issue rows are not listed: the Issues sheet stops at "
            f"{max_rows:,} rows"), "error")]
    return pd.DataFrame(rows, columns=list(ISSUES_HEADERS))


def figures(forecast: pd.DataFrame, model_name: str) -> list[tuple[str, object]]:
    """The Forecast sheet's figures, in the order of ``FORECAST_FIGURES``; without a
    forecast (no client has a P(alive): an empty book, too little history to fit) the counts
    are blank like the sums, not a "0 likely active" that reads as a finding."""
    p_alive = forecast["P(alive)"]
    sessions = forecast["Expected sessions (12 months)"]
    revenue = sessions * forecast["Expected order value"]
    forecasted = bool(p_alive.notna().any())
    values = (
        len(forecast) if forecasted else None,
        int((p_alive >= 0.5).sum()) if forecasted else None,
        _total(sessions),
        _total(revenue),
        _total(forecast["Model CLV (12 months)"]),
        model_name or "none",
    )
    return [(label, value) for (label, _), value in zip(FORECAST_FIGURES, values)]


def status_line(when: dt.datetime, as_of, counts: dict, issue_rows: int, message: str) -> str:
    """'Last recompute 2026-11-23 10:02 (as of 2026-06-30): 300 clients, ... ; 4 rows with
    issues. <forecast message>'"""
    read = ", ".join(f"{counts.get(sheet, 0):,} {sheet.lower()}"
                     for sheet in ("Clients", "Sessions", "Contacts"))
    rows = "row" if issue_rows == 1 else "rows"
    line = (f"Last recompute {when:%Y-%m-%d %H:%M} (as of {pd.Timestamp(as_of):%Y-%m-%d}): "
            f"{read} read; {issue_rows:,} {rows} {STATUS_SUMMARY_END}")
    return f"{line} {message}".strip() if message else line


def forecast_grid(outputs) -> list[list]:
    """The Forecast sheet from A1: title, status, a blank row, the figures, a blank row, the
    header (row FORECAST_HEADER_ROW) and one row per client."""
    grid: list[list] = [[TITLE], [outputs.status]]
    grid += [[]] * (FORECAST_FIGURE_ROW - 1 - len(grid))
    grid += [[label, value] for label, value in outputs.figures]
    grid += [[]] * max(1, FORECAST_HEADER_ROW - 1 - len(grid))
    grid += _table(outputs.forecast)
    return _with_tracking(grid, outputs)


def _with_tracking(grid: list[list], outputs) -> list[list]:
    """``grid`` with the tracking table (title, note, header, rows) from column
    TRACKING_FIRST_COLUMN, the header on the client table's header row (the Dashboard's chart
    names its lines after it); only the title and header when there is no tracking table."""
    tracking = getattr(outputs, "tracking", None)
    if tracking is None:
        tracking = pd.DataFrame(columns=list(TRACKING_HEADERS))
    at = TRACKING_FIRST_COLUMN - 1
    pieces = {TRACKING_TITLE_ROW: [TRACKING_TITLE],
              TRACKING_NOTE_ROW: [getattr(outputs, "tracking_note", "") or None]}
    for i, row in enumerate(_table(tracking)):
        pieces[FORECAST_HEADER_ROW + i] = [None if _missing(v) else v for v in row]
    grid += [[] for _ in range(max(pieces) - len(grid))]
    for r, values in pieces.items():
        row = list(grid[r - 1])
        row += [None] * (at - len(row))
        grid[r - 1] = row[:at] + values + row[at + len(values):]
    return grid


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def issues_grid(outputs) -> list[list]:
    """The Issues sheet from A1: the header and one row per issue."""
    return _table(outputs.issues)


def _table(frame: pd.DataFrame) -> list[list]:
    return [list(frame.columns), *(list(row) for row in frame.itertuples(index=False,
                                                                         name=None))]


def _total(values: pd.Series):
    """The sum, or None when no value is known (no model)."""
    return float(values.sum()) if values.notna().any() else None


def _value(value):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (np.generic,)):
        return value.item()
    if isinstance(value, (int, float, str)):
        return value
    return str(value)
