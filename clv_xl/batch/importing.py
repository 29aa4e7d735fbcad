"""``clv-xl import EXPORT --into BOOK``: an export's clients and sessions appended to a book.

The export is read by :func:`~clv_xl.book.exports.read_export` and validated like a Sessions
sheet; its good rows are compared with the book's: a session already in the book (same day,
client, package, amount and status, counted as many times as it is there) is not added again,
so importing the same file twice adds nothing the second time. A client id already in the
book in another case or spacing takes the book's spelling. New clients are appended to
Clients (id, name, first contact = first session in the export), new sessions to Sessions;
no existing row or cell is changed (:mod:`.append`). When the rows go beyond the blocks the
book's own formulas read, the book is given room for them (:mod:`.room`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..book.exports import Export, no_rows_message, read_export, validate_export
from ..book.io import BookError, BookReader, rows_to_frame
from ..book.schema import CLIENTS, SESSIONS
from ..book.validate import SchemaError, validate_sheet, with_keys
from ..engine.units import fold
from .append import append_rows
from .file_book import check_writable
from .room import Growth, growth


@dataclass
class ImportResult:
    export: Export
    problems: list = field(default_factory=list)
    clients_added: int = 0
    sessions_added: int = 0
    sessions_already: int = 0
    written: Path | None = None
    backup: Path | None = None
    growth: Growth | None = None


def import_export(export_path, book_path, mapping=None, dayfirst=None, out=None) -> ImportResult:
    book_path = Path(book_path)
    reader = BookReader(book_path)
    target = Path(out) if out is not None else book_path
    if out is not None and target.suffix.lower() != book_path.suffix.lower():
        raise BookError(f"--out {target.name}: use the book's extension ({book_path.suffix})")
    check_writable(target)
    missing = [s.name for s in (CLIENTS, SESSIONS) if s.name not in reader.sheet_names()]
    if missing:
        raise SchemaError(f"{book_path.name} has no sheet named {missing[0]!r}: import into a "
                          "clv-xl book (clv-xl template makes an empty one)")

    export = read_export(export_path, mapping, dayfirst)
    good, problems = validate_export(export)
    result = ImportResult(export, problems)
    if good.empty:
        raise BookError(no_rows_message(export.name, len(export.sessions)))

    clients_at, client_rows = _sheet(reader, CLIENTS)
    sessions_at, session_rows = _sheet(reader, SESSIONS)
    known = _known_ids(client_rows)
    good = good.copy()
    good["client_id"] = good["client_id"].map(lambda i: known.get(i.casefold(), i))
    already = Counter(_keys(_book_sessions(session_rows)))
    adding = []
    good = good.sort_values("date", kind="stable")
    for row, key in zip(good.itertuples(), _keys(good)):
        if already[key] > 0:
            already[key] -= 1
            result.sessions_already += 1
        else:
            adding.append(row)
    new_ids = [i for i in dict.fromkeys(r.client_id for r in adding) if i.casefold() not in known]
    first = good.groupby("client_id")["date"].min()
    clients = [{"Client ID": i, "Name": export.names.get(i), "First contact": first.get(i)}
               for i in new_ids]
    sessions = [{"Date": r.date, "Client ID": r.client_id, "Package": r.package,
                 "Amount": float(r.amount), "Status": r.status} for r in adding]
    result.clients_added, result.sessions_added = len(clients), len(sessions)
    if clients or sessions:
        result.growth = growth(book_path, clients_at[1] - 2 + len(clients),
                               sessions_at[1] - 2 + len(sessions))
    room = None
    if result.growth is not None:
        clients += [{}] * result.growth.blank_client_rows(clients_at[1], len(clients))
        room = result.growth.members
    result.written, result.backup = append_rows(book_path, {
        CLIENTS.name: (*clients_at, clients), SESSIONS.name: (*sessions_at, sessions)}, out,
        room=room)
    return result


def first_free_row(reader, sheet) -> tuple[dict[str, int], int]:
    """({header: column number}, the first row below the last filled one) of a sheet."""
    return _sheet(reader, sheet)[0]


def _sheet(reader, sheet) -> tuple[tuple[dict[str, int], int], list[list]]:
    """(({header: column number}, first free row), the sheet's rows)."""
    rows = reader.read_rows(sheet.name)
    header_at = next((i for i, row in enumerate(rows)
                      if any(v is not None and str(v).strip() for v in row)), None)
    if header_at is None:
        raise SchemaError(f"sheet {sheet.name!r} is empty: it needs a header row")
    positions = {fold(v): j + 1 for j, v in enumerate(rows[header_at]) if v is not None}
    columns = {}
    for column in sheet.columns:
        j = positions.get(fold(column.header), positions.get(fold(column.key)))
        if j is None and column.required:
            raise SchemaError(f"{sheet.name}: column {column.header!r} is missing")
        if j is not None:
            columns[column.header] = j
    last = header_at
    for i in range(len(rows) - 1, header_at, -1):
        if any(j - 1 < len(rows[i]) and rows[i][j - 1] not in (None, "")
               for j in columns.values()):
            last = i
            break
    return (columns, last + 2), rows


def _known_ids(rows: list[list]) -> dict[str, str]:
    frame, _ = rows_to_frame(rows, CLIENTS.name)
    ids = with_keys(CLIENTS, frame)["client_id"].dropna()
    known = {}
    for value in ids:
        text = " ".join(str(int(value) if isinstance(value, float) and value.is_integer()
                            else value).split())
        if text:
            known.setdefault(text.casefold(), text)
    return known


def _book_sessions(rows: list[list]) -> pd.DataFrame:
    frame, first_row = rows_to_frame(rows, SESSIONS.name)
    good, _ = validate_sheet(SESSIONS, frame, first_row)
    return good


def _keys(sessions: pd.DataFrame) -> list[tuple]:
    """What makes two sessions the same, for each row: day, client (case ignored), package
    (case and outer spaces ignored), amount in cents, status."""
    days = pd.to_datetime(sessions["date"]).dt.strftime("%Y-%m-%d")
    clients = sessions["client_id"].astype(str).str.casefold()
    packages = sessions["package"].map(lambda v: v.strip().casefold() if isinstance(v, str)
                                       else "")
    amounts = pd.to_numeric(sessions["amount"], errors="coerce").fillna(0.0).round(2)
    return list(zip(days, clients, packages, amounts, sessions["status"]))
