"""An export of a booking, point-of-sale, shop or payment system, read as Sessions rows.

:func:`read_export` takes a CSV (any common encoding and delimiter, :mod:`.textfile`) or a
workbook (its Sessions sheet, else its first sheet with a recognisable header), finds the
columns by name (:mod:`.aliases`, or the user's ``--map``), and gives the rows under the
Sessions keys with dates, amounts and statuses read as the export writes them
(:mod:`.parse`). Cells it cannot read are left as they are, for
:func:`~clv_xl.book.validate.validate_sheet` to name.

Refunds: a row whose amount is negative lowers the revenue of the client's latest Completed
session on or before its date (the refund row itself is no session); a row whose status says
"Refunded" is a payment given back in full: not a session, no revenue. A column of refunded
amounts beside the amount (Stripe, Shopify) is subtracted from its row. Failed or voided
payments are left out. Client ids that differ only in case or spaces are one client (Excel's
COUNTIFS does not tell them apart either), each such spelling flagged.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..engine.units import fold
from .aliases import CLIENT_ALIASES, COLUMN_ALIASES, REFUND, REFUNDED_ALIASES, SKIP, STATUS_WORDS
from .io import BookError, check_size, rows_to_frame
from .parse import AmbiguousDates, parse_amounts, parse_dates
from .schema import SESSIONS
from .textfile import looks_like_workbook, read_text_table
from .validate import Problem, SchemaError, validate_sheet

REQUIRED = ("date", "client_id", "amount")
#: A row whose first cell says this (and that names no client) sums the rows above it.
TOTAL_WORDS = {fold(w) for w in ("Total", "Totals", "Grand total", "Sum", "Summe", "Gesamt",
                                 "Total général", "Total general", "Kopā", "合計")}
_ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 with a byte-order mark",
                   "utf-16": "UTF-16", "utf-16-le": "UTF-16 (little-endian, no mark)",
                   "utf-16-be": "UTF-16 (big-endian, no mark)", "utf-32": "UTF-32",
                   "cp1252": "Windows-1252", "latin_1": "Latin-1", "cp1250": "Windows-1250",
                   "cp1257": "Windows-1257", "shift_jis": "Shift JIS", "cp932": "Shift JIS (cp932)"}
_STATUS = {fold(word): status for status, words in STATUS_WORDS.items() for word in words}


@dataclass
class Export:
    """The Sessions rows of an export (keys as columns), ready for the validator."""

    name: str
    sessions: pd.DataFrame  # columns: SESSIONS.keys; index: the row in the file
    names: pd.Series  # the client's name by client id, where the export tells it
    found: dict[str, str]  # Sessions key -> the export's header
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    first_row: int = 2
    unused: list[str] = field(default_factory=list)
    name_columns: list[str] = field(default_factory=list)
    client_backups: list[str] = field(default_factory=list)  # for rows without the client

    def describe(self) -> str:
        """One line: which column became which, and how the file was read."""
        parts = [f"{SESSIONS.column(k).header} <- {self.found[k]!r}" +
                 ("".join(f" (else {b!r})" for b in self.client_backups)
                  if k == "client_id" else "") for k in SESSIONS.keys if k in self.found]
        if self.name_columns:
            parts.append("client Name <- " + " + ".join(map(repr, self.name_columns)))
        text = f"{self.name}: " + ", ".join(parts)
        if self.unused:
            text += "; not used: " + ", ".join(self.unused[:8]) + \
                ("..." if len(self.unused) > 8 else "")
        return text + "".join(f"; {note}" for note in self.notes)


def parse_mapping(text: str | None) -> dict[str, str]:
    """``"Order Date=Date,Customer=Client ID"`` -> {export header: Sessions key}."""
    if not text:
        return {}
    keys = {fold(c.header): c.key for c in SESSIONS.columns} | \
        {fold(c.key): c.key for c in SESSIONS.columns}
    mapping = {}
    for part in text.split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise BookError(f"--map {part.strip()!r}: write EXPORT COLUMN=BOOK COLUMN, "
                            "e.g. \"Order Date=Date\"")
        source, target = (s.strip() for s in part.rsplit("=", 1))
        if fold(target) not in keys:
            raise BookError(f"--map {part.strip()!r}: {target!r} is not a Sessions column "
                            f"({', '.join(SESSIONS.headers)})")
        mapping[source] = keys[fold(target)]
    return mapping


def read_export(path, mapping: str | dict | None = None, dayfirst: bool | None = None) -> Export:
    """The Sessions rows of the export at ``path`` (BookError or SchemaError, one line, when
    the file or its columns cannot be read)."""
    path = Path(path)
    if not path.is_file():
        raise BookError(f"{path} does not exist")
    rows, how = _raw_rows(path)
    mapping = parse_mapping(mapping) if isinstance(mapping, str) or mapping is None else mapping
    frame, first_row, longer = _frame(_from_header(rows, mapping), path.name)
    found = recognise(list(frame.columns), mapping, path.name)
    export = Export(path.name, pd.DataFrame(), pd.Series(dtype=object), found,
                    first_row=first_row, notes=[how] if how else [])
    if longer:
        export.notes.append(f"{longer} row{'s' * (longer > 1)} with more cells than the "
                            "header: the extra cells are not read")
    if "client_id" not in mapping.values():
        export.client_backups = _client_backups(frame, found)
    export.unused = [c for c in frame.columns if c not in found.values()
                     and c not in export.client_backups]
    export.sessions = _sessions(frame, export, dayfirst)
    export.names = _names(frame, export)
    return export


# --- the rows ----------------------------------------------------------------------------------

def _raw_rows(path: Path) -> tuple[list[list], str]:
    """Every row of the file as cells, and how it was read (encoding, delimiter, sheet)."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    kind = looks_like_workbook(head)
    if kind is not None:
        return _workbook_rows(path, kind)
    table = read_text_table(path)
    rows = [[None if cell.strip() == "" else cell for cell in row] for row in table.rows]
    named = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}[table.delimiter]
    return rows, f"read as {_ENCODING_NAMES.get(table.encoding, table.encoding.upper())}, " \
        f"{named}-separated"


def _workbook_rows(path: Path, kind: str) -> tuple[list[list], str]:
    """The rows of the export's sheet in a workbook (.xlsx/.xlsm, or an old .xls)."""
    from python_calamine import CalamineWorkbook

    if kind == "xlsx":
        check_size(path)
    try:
        with open(path, "rb") as handle:
            book = CalamineWorkbook.from_filelike(handle)
        names = list(book.sheet_names)
        chosen = next((n for n in names if fold(n) == fold(SESSIONS.name)), None)
        candidates = [chosen] if chosen else names
        for name in candidates:
            rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
            rows = [[None if v == "" else v for v in row] for row in rows]
            if chosen or _recognisable(rows):
                return rows, f"sheet {name!r}"
    except Exception as exc:  # noqa: BLE001 - calamine raises its own error types
        raise BookError(f"{path.name} cannot be read as a workbook: "
                        f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") \
            from None
    raise SchemaError(f"{path.name}: no sheet has a header with a date, a client and an amount "
                      f"column (sheets: {', '.join(names)})")


def _recognisable(rows: list[list]) -> bool:
    header = next((r for r in rows if any(v is not None for v in r)), None)
    if header is None:
        return False
    try:
        recognise([str(v) for v in header if v is not None], {}, "")
    except SchemaError:
        return False
    return True


#: How far down an export may start with title lines before its header row.
HEADER_SEARCH_ROWS = 10


def _from_header(rows: list[list], mapping: dict) -> list[list]:
    """The rows with those above the header blanked: the header is the first of the top rows whose cells name a date, a
    client and an amount column (some exports start with a title or a date range); the rows
    unchanged when none does (the missing-column error then names the first row)."""
    filled = [i for i, row in enumerate(rows[:200]) if any(v is not None for v in row)]
    for i in filled[:HEADER_SEARCH_ROWS]:
        try:
            recognise([str(v) for v in rows[i] if v is not None], mapping, "")
        except SchemaError:
            continue
        return [[None] * len(row) for row in rows[:i]] + rows[i:]  # row numbers kept
    return rows


def _frame(rows: list[list], name: str) -> tuple[pd.DataFrame, int, int]:
    """The rows under their header, the file row of the first one, and how many rows hold
    cells beyond the header's last column (those cells are not read)."""
    if not any(any(v is not None for v in row) for row in rows):
        raise SchemaError(f"{name} is empty: it needs a header row and at least one row")
    frame, first_row = rows_to_frame(rows, "Sessions")
    frame = frame.loc[:, ~pd.Index(frame.columns).duplicated()]
    frame.index = pd.RangeIndex(len(frame)) + first_row
    width = len(rows[first_row - 2])
    longer = sum(1 for row in rows[first_row - 1:] if len(row) > width
                 and any(v is not None for v in row[width:]))
    return frame, first_row, longer


def _header_key(header: str) -> str:
    """A header as compared with the aliases: a trailing "(USD)" or "(UTC)" dropped."""
    return fold(re.sub(r"\s*[\(\[][^\)\]]*[\)\]]\s*$", "", str(header)) or header)


def recognise(headers: list[str], mapping: dict[str, str], name: str) -> dict[str, str]:
    """Sessions key -> header of the export: the user's mapping first, then the aliases
    (first alias found wins; a header serves one key). SchemaError names what is missing."""
    found: dict[str, str] = {}
    by_fold = {}
    for header in headers:
        by_fold.setdefault(fold(header), header)
        by_fold.setdefault(_header_key(header), header)
    for source, key in mapping.items():
        header = by_fold.get(fold(source))
        if header is None:
            raise SchemaError(f"{name}: --map names {source!r}, which is not a column "
                              f"(columns: {', '.join(map(str, headers))})")
        found[key] = header
    used = set(found.values())
    for key, aliases in COLUMN_ALIASES.items():
        if key in found:
            continue
        for alias in aliases:
            header = by_fold.get(fold(alias))
            if header is not None and header not in used:
                found[key] = header
                used.add(header)
                break
    missing = [k for k in REQUIRED if k not in found]
    if missing:
        wanted = " and ".join(f"{SESSIONS.column(k).header} (e.g. "
                              f"{', '.join(COLUMN_ALIASES[k][:4])})" for k in missing)
        example = SESSIONS.column(missing[0]).header
        raise SchemaError(f"{name}: no column for {wanted}; columns found: "
                          f"{', '.join(map(str, headers)) or 'none'}. Name it with "
                          f"--map \"YOUR COLUMN={example}\"")
    return found


def _sessions(frame: pd.DataFrame, export: Export, dayfirst: bool | None) -> pd.DataFrame:
    found = export.found
    frame = _without_item_lines(frame, export)
    out = pd.DataFrame(index=frame.index)
    for key in SESSIONS.keys:
        out[key] = frame[found[key]].astype(object) if key in found else None
    for header in export.client_backups:
        out["client_id"] = out["client_id"].where(out["client_id"].notna(), frame[header])
    try:
        out["date"], note = parse_dates(out["date"], dayfirst)
    except AmbiguousDates as exc:
        raise SchemaError(f"{export.name}: {exc}") from None
    if note:
        export.notes.append(note)
    out["client_id"] = _client_ids(out["client_id"], export)
    out["amount"] = parse_amounts(out["amount"])
    refunded = _refunded_column(frame, export)
    if refunded is not None:
        both = pd.to_numeric(out["amount"], errors="coerce")
        less = pd.to_numeric(refunded, errors="coerce").fillna(0.0)
        net = (both - less.abs()).where(both.notna())
        out["amount"] = out["amount"].where(net.isna(), net.astype(object))
    if "status" in found:
        statuses = {v: _STATUS.get(fold(v), v) for v in pd.unique(out["status"].dropna())
                    if isinstance(v, str)}
        out["status"] = out["status"].map(lambda v: statuses.get(v, v) if isinstance(v, str)
                                          else v) if statuses else out["status"]
    else:
        out["status"] = "Completed"
        export.notes.append("no status column: every row counted as a Completed session")
    return _refunds(out, export)


def _client_backups(frame: pd.DataFrame, found: dict[str, str]) -> list[str]:
    """Further columns naming the client, in alias order, for rows whose client column is
    blank (Stripe leaves Customer ID blank for a guest, whose Customer Email is there)."""
    column = frame[found["client_id"]]
    if column.notna().all():
        return []
    by_fold = {}
    for header in frame.columns:
        by_fold.setdefault(_header_key(header), header)
    taken = set(found.values())
    backups = []
    for alias in COLUMN_ALIASES["client_id"]:
        header = by_fold.get(fold(alias))
        if header is not None and header not in taken and header not in backups \
                and frame[header][column.isna()].notna().any():
            backups.append(header)
    return backups[:2]


def _without_item_lines(frame: pd.DataFrame, export: Export) -> pd.DataFrame:
    """The rows less the further lines of a multi-line order (Shopify writes an order's date,
    customer and total on its first line only; its other line items leave them blank)."""
    needed = [export.found[k] for k in REQUIRED]
    blank = frame[needed].isna().all(axis=1)
    others = frame.drop(columns=needed).notna().any(axis=1)
    lines = blank & others
    if lines.any():
        count = int(lines.sum())
        export.notes.append(f"{count} further line{'s' * (count > 1)} of multi-line orders "
                            "(no date, client or amount) skipped")
    first = frame.iloc[:, 0]
    words = {v for v in pd.unique(first.dropna()) if isinstance(v, str) and fold(v) in TOTAL_WORDS}
    totals = first.isin(words) & frame[export.found["client_id"]].isna()
    if totals.any():
        export.notes.append("a totals row skipped")
    return frame[~lines & ~totals]


def _refunded_column(frame, export):
    by_fold = {_header_key(h): h for h in frame.columns if h not in export.found.values()}
    for alias in REFUNDED_ALIASES:
        header = by_fold.get(fold(alias))
        if header is not None:
            export.notes.append(f"{header!r} subtracted from the amounts")
            export.unused.remove(header)
            return parse_amounts(frame[header].astype(object))
    return None


def _client_ids(ids: pd.Series, export: Export) -> pd.Series:
    """Ids stripped, inner spaces single; spellings that differ only in case or inner spaces
    become the first one seen, each other spelling flagged once (on its first row)."""
    distinct = pd.unique(ids.dropna())
    tidy = {v: " ".join(str(int(v) if isinstance(v, float) and v.is_integer() else v).split())
            or None for v in distinct}
    text = ids.map(tidy)
    first: dict[str, str] = {}
    for spelling in pd.unique(text.dropna()):
        first.setdefault(spelling.casefold(), spelling)
    canonical = text.map({t: first[t.casefold()] for t in first.values()} |
                         {t: first[t.casefold()] for t in pd.unique(text.dropna())})
    differs = (canonical.notna() & (text != canonical)).to_numpy(bool)
    if differs.any():
        flagged = pd.DataFrame({"text": text[differs], "chosen": canonical[differs]})
        for row, spelling, chosen in flagged.drop_duplicates("text").itertuples():
            export.problems.append(Problem(
                SESSIONS.name, int(row), "Client ID", spelling,
                f"{spelling!r} differs from {chosen!r} only in case or spaces: counted as "
                f"{chosen!r}", "warning"))
    return canonical.astype(object).where(canonical.notna(), None)


def _refunds(out: pd.DataFrame, export: Export) -> pd.DataFrame:
    """Apply refunds and drop what is not a session (see the module's docstring)."""
    amount = pd.to_numeric(out["amount"].where(out["amount"].map(
        lambda v: isinstance(v, (int, float)) and not isinstance(v, bool))), errors="coerce")
    status = out["status"]
    given_back = (status == REFUND).to_numpy()
    negative = (amount < 0).to_numpy()
    skipped = (status == SKIP).to_numpy()
    for row in out.index[skipped]:
        export.problems.append(Problem(SESSIONS.name, int(row), "Status", None,
                                       "a failed or voided payment: not a session", "warning"))
    full = given_back & ~negative
    if full.any():
        count = int(full.sum())
        export.notes.append(f"{count} refunded payment{'s' * (count > 1)} left out "
                            "(no revenue, not a session)")
    partial = negative & ~skipped
    done = (status == "Completed").to_numpy() & ~negative
    dates = pd.to_datetime(out["date"].where(out["date"].map(
        lambda v: isinstance(v, pd.Timestamp))), errors="coerce")
    applied = 0
    if partial.any():
        ids = out["client_id"].to_numpy(object)
        days = dates.to_numpy()
        sessions_of: dict = {}
        for i in np.flatnonzero(done):
            sessions_of.setdefault(ids[i], []).append(i)
        column = out.columns.get_loc("amount")
        for i in np.flatnonzero(partial):
            mine = sessions_of.get(ids[i], [])
            before = [j for j in mine if not pd.isna(days[i]) and days[j] <= days[i]] or mine
            if not before:
                export.problems.append(Problem(
                    SESSIONS.name, int(out.index[i]), "Amount", out.iat[i, column],
                    "a refund with no completed session of this client to take it from "
                    "(left out)", "warning"))
                continue
            target = max(before, key=lambda j: (days[j], j))
            out.iat[target, column] = max(float(out.iat[target, column]) + amount.iat[i], 0.0)
            applied += 1
    if applied:
        export.notes.append(f"{applied} refund{'s' * (applied > 1)} subtracted from the "
                            "client's latest session")
    keep = ~(given_back | negative | skipped)
    return out[keep]


def _names(frame: pd.DataFrame, export: Export) -> pd.Series:
    """The client's name by id (first one seen), where the export has a name column."""
    ids = export.sessions["client_id"]
    columns = {}
    for key, aliases in CLIENT_ALIASES.items():
        by_fold = {_header_key(h): h for h in frame.columns}
        columns[key] = next((by_fold[fold(a)] for a in aliases if fold(a) in by_fold), None)
    names = None
    if columns["first_name"] and columns["last_name"]:
        names = (frame[columns["first_name"]].fillna("").astype(str) + " " +
                 frame[columns["last_name"]].fillna("").astype(str)).str.strip()
    elif columns["name"] and columns["name"] != export.found.get("package"):
        names = frame[columns["name"]].astype(object)
        if names.dropna().astype(str).str.match(r"^#?\d+$").mean() > 0.5:
            names = None  # Shopify's "Name" is the order number (#1001)
    if names is None:
        return pd.Series(dtype=object)
    export.name_columns = [columns["first_name"], columns["last_name"]] \
        if columns["first_name"] and columns["last_name"] else [columns["name"]]
    export.unused = [c for c in export.unused if c not in export.name_columns]
    names = names.reindex(ids.index).replace("", None)
    table = pd.Series(names.to_numpy(), index=ids.to_numpy()).dropna()
    return table[~table.index.duplicated()]


def validate_export(export: Export, as_of=None) -> tuple[pd.DataFrame, list[Problem]]:
    """The export's good Sessions rows (typed, indexed by the row in the file) and every
    problem in file row order, each naming the file and its row."""
    frame = export.sessions
    good, problems = validate_sheet(SESSIONS, frame.reset_index(drop=True), 0, as_of=as_of)
    rows = frame.index.to_numpy()
    good.index = pd.Index(rows[good.index.to_numpy()], name="row")
    problems = [dataclasses.replace(p, row=int(rows[p.row])) for p in problems]
    problems = [dataclasses.replace(p, sheet=export.name) for p in export.problems + problems]
    return good, sorted(problems, key=lambda p: (p.row, p.column))


def no_rows_message(name: str, read: int) -> str:
    return (f"{name}: no usable session rows ({read:,} row{'s' * (read != 1)} read, every one "
            "left out: see the reasons above)") if read else \
        f"{name}: no session rows under the header"

