"""The headless door of the batch run: a workbook file on disk as a :class:`~.book.Book`.

Reading: python-calamine (blank cells become None). Writing: only the output parts. The
book's zip is copied member by member, byte for byte as stored (input sheets, VBA project,
charts, tables, styles untouched), except the worksheet XML of Forecast and Issues, whose
``<sheetData>`` is replaced by rows generated here (the rest of their XML, such as column widths
and frozen panes, is kept). Text is written as inline strings (``t="inlineStr"``), XML-escaped,
so text from a cell can never become a formula; numbers as ``<v>``; dates as serial numbers
with a date style of the book. Each cell reuses the style (``s=``) of the template's cell at
the same place above the table, and the styles of the first table row for every table row.

Safety: a lock file (``~$BOOK.xlsx`` of Excel, ``.~lock.BOOK.xlsx#`` of LibreOffice) or a book
that cannot be opened for writing is refused with one message. One run of a book at a time:
an operating-system lock (:mod:`.run_lock`) is held from before reading until the end. The
package is checked before it is read (:mod:`clv_xl.book.package`). The new book is written to
a hidden temporary file beside the target, flushed to disk and given the book's mode and
owner; the book as it is becomes ``BOOK.bak.xlsx``; only then is the new book moved over it
(``os.replace``). On any failure the temporary files are removed and the book is left as it
was; temporary files a killed run left behind are removed by the next run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import re
import shutil
import stat
import struct
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter

from ..book.io import BookError, BookReader
from ..book.package import PackageError, one_line, parse_xml, sheet_parts
from ..template.pages import FORECAST_HEADER_ROW
from .outputs import forecast_grid, issues_grid
from .run_lock import RunLock

FORECAST, ISSUES = "Forecast", "Issues"
#: Sheet name -> the row of its table header (the row below it styles every table row).
OUTPUT_SHEETS = {FORECAST: FORECAST_HEADER_ROW, ISSUES: 1}
_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_EXCEL_ESCAPE = re.compile("_x[0-9A-Fa-f]{4}_")


class FileBook(BookReader):
    """A .xlsx/.xlsm file. ``out``: write the result there instead of replacing the book.
    ``on_progress(stage, fraction)`` is called as the run goes."""

    def __init__(self, path, out=None, on_progress=None, on_wait=None) -> None:
        self.out = Path(out) if out is not None else None
        self.on_progress = on_progress
        self.written: Path | None = None
        self.backup: Path | None = None
        source = Path(path)
        if self.out is not None and self.out.suffix.lower() != source.suffix.lower():
            raise BookError(f"--out {self.out.name}: use the book's extension "
                            f"({source.suffix}), or Excel will refuse to open it")
        target = self.out if self.out is not None else source
        check_writable(target)
        self._lock = RunLock(target)  # held until close(): one run of a book at a time
        self._lock.acquire(on_wait=on_wait)
        try:
            remove_stale_temps(target)
            super().__init__(source)
            check_output_parts(self.path)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """The run is over: let go of the book's lock (also when the object is collected)."""
        self._lock.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def target(self) -> Path:
        return self.out if self.out is not None else self.path

    # --- the Book interface ---------------------------------------------------------------

    def write_outputs(self, outputs) -> None:
        grids = {FORECAST: forecast_grid(outputs), ISSUES: issues_grid(outputs)}
        self.written, self.backup = write_outputs(self.path, grids, self.out)

    def progress(self, stage: str, fraction: float) -> None:
        if self.on_progress is not None:
            self.on_progress(stage, fraction)

    def table_last_rows(self) -> dict[str, int]:
        """The last sheet row of the Excel table on each sheet that has one: the rows the
        book's own formulas see (rows typed below it are not in the table)."""
        from .append import table_last_rows

        return table_last_rows(self.path)


# --- safety -----------------------------------------------------------------------------------

def lock_files(path: Path) -> list[Path]:
    """The lock files Excel and LibreOffice keep beside a book they have open."""
    names = {f"~${path.name}", f"~${path.name[2:]}", f".~lock.{path.name}#"}
    return [path.with_name(n) for n in sorted(names) if path.with_name(n).exists()]


def check_writable(path: Path) -> None:
    """Refuse a book that is open in Excel or LibreOffice, or that cannot be written."""
    locks = lock_files(path)
    if locks:
        raise BookError(f"{path.name} is open in Excel or LibreOffice (lock file {locks[0].name}"
                        "): close it and run again (if it is not open, delete the lock file)")
    folder = path.parent if str(path.parent) else Path(".")
    if path.exists():
        try:
            with open(path, "r+b"):
                pass
        except OSError as exc:
            raise BookError(f"{path.name} cannot be opened for writing ({exc.strerror}): is it "
                            "open in another program, or read-only?") from None
    if not os.access(folder, os.W_OK):
        raise BookError(f"cannot write in the folder {folder}")


def check_output_parts(path: Path) -> None:
    """Refuse, before anything is computed, a book whose Forecast or Issues sheet or whose
    styles cannot be written into (the package itself was checked when it was opened)."""
    import zipfile

    with _damage_as_book_error(path):
        with zipfile.ZipFile(path) as archive:
            parts = sheet_parts(archive, path.name)
            missing = [name for name in OUTPUT_SHEETS if name not in parts]
            if missing:
                raise BookError(f"{path.name} has no sheet named {missing[0]!r} to write into")
            if "xl/styles.xml" in archive.namelist():
                _Styles(archive.read("xl/styles.xml"), path.name)


@contextlib.contextmanager
def _damage_as_book_error(path: Path):
    """Errors of a damaged or hostile book (zip, zlib, XML, text encoding) as one BookError."""
    import zipfile

    try:
        yield
    except PackageError as exc:
        raise BookError(str(exc)) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, UnicodeDecodeError,
            struct.error, ValueError, TypeError) as exc:
        if isinstance(exc, BookError):
            raise
        raise BookError(f"{path.name} is damaged ({one_line(exc)}): nothing was written") \
            from None


def backup_path(path: Path) -> Path:
    """``BOOK.bak.xlsx`` beside ``BOOK.xlsx``."""
    return path.with_name(f"{path.stem}.bak{path.suffix}")


# --- writing ---------------------------------------------------------------------------------

def write_outputs(source: Path, grids: dict[str, list[list]], out: Path | None = None,
                  members: dict[str, bytes | None] | None = None):
    """Write ``source`` with the given sheets' rows replaced (and the zip ``members`` given
    replaced by those bytes), atomically, to ``out`` (default: over ``source``, keeping the
    previous version as BOOK.bak.xlsx). Returns (written, backup).

    Order: the new book is written to a hidden temporary file and flushed to disk, given the
    mode (and, where allowed, the owner) of the book it replaces; the book as it is now
    becomes BOOK.bak.xlsx; only then is the new book moved over it. A failure at any step
    leaves the book as it was (and an earlier backup too, when the last step fails)."""
    target = out if out is not None else source
    check_writable(target)
    fd, tmp_name = tempfile.mkstemp(prefix=temp_prefix(target), suffix=".tmp",
                                    dir=_folder(target))
    tmp = Path(tmp_name)
    backup = earlier = None
    try:
        with os.fdopen(fd, "wb") as handle:
            patch_book(source, handle, grids, members)
            handle.flush()
            os.fsync(handle.fileno())
        keep_mode(tmp, like=target)
        if target.exists():
            earlier = keep_backup(target, backup_path(target))
            backup = backup_path(target)  # in place from here on
        os.replace(tmp, target)
    except BaseException as exc:
        _remove(tmp)
        if backup is not None:
            _restore_backup(backup, earlier)
        if isinstance(exc, PermissionError):
            raise BookError(f"{target.name} cannot be replaced ({exc.strerror}): is it open in "
                            "another program? Nothing was changed.") from None
        raise
    _remove(earlier)
    _fsync_dir(target.parent)
    return target, backup


def keep_backup(book: Path, backup: Path) -> Path | None:
    """Make ``backup`` the book as it is now (a hard link where the disk allows, else a
    copy); returns the earlier backup under a hidden name (to restore if the run fails
    later), or None. On failure nothing has changed and the error says what is in the way."""
    if os.path.lexists(backup) and not backup.is_file():
        raise BookError(f"cannot keep the previous version as {backup.name}: something that "
                        "is not a book is in the way (a folder?); move it and run again. "
                        "Nothing was changed.")
    staging = earlier = None
    try:
        staging = _staged_copy(book, book)
        if os.path.lexists(backup):
            earlier = _staged_copy(backup, book)
        os.replace(staging, backup)
    except OSError as exc:
        _remove(staging)
        _remove(earlier)
        raise BookError(f"cannot keep the previous version as {backup.name} "
                        f"({exc.strerror or exc}): Nothing was changed.") from None
    return earlier


def _restore_backup(backup: Path, earlier: Path | None) -> None:
    """Undo :func:`keep_backup` after a later step failed (best effort)."""
    try:
        if earlier is not None:
            os.replace(earlier, backup)
        else:
            _remove(backup)
    except OSError:
        pass


def keep_mode(path: Path, like: Path) -> None:
    """Give ``path`` the permission bits (and, where the OS allows, the owner and group) of
    ``like``; if ``like`` does not exist, those of a new file (0666 less the umask)."""
    try:
        st = os.stat(like)
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(path, 0o666 & ~mask)
        return
    os.chmod(path, stat.S_IMODE(st.st_mode))
    if hasattr(os, "chown"):
        try:
            os.chown(path, st.st_uid, st.st_gid)
        except OSError:  # another user's book: only root may give it back its owner
            pass


def temp_prefix(target: Path) -> str:
    """Hidden temporary files of a run on ``target`` start with this (and end in .tmp)."""
    return f".{target.name}.clv-"


def remove_stale_temps(target: Path) -> None:
    """Remove the temporary files a killed run on ``target`` left behind. Called with the
    book's run lock held, so no other run of this book is writing them."""
    prefix = temp_prefix(target)
    try:
        names = os.listdir(_folder(target))
    except OSError:
        return
    for name in names:
        if name.startswith(prefix) and name.endswith(".tmp"):
            _remove(Path(_folder(target)) / name)


def _folder(path: Path) -> str:
    return str(path.parent) if str(path.parent) else "."


def patch_book(source: Path, handle, grids: dict[str, list[list]],
               members: dict[str, bytes] | None = None) -> None:
    """Write to ``handle`` a copy of the zip ``source`` whose sheets named in ``grids`` hold
    those rows and whose ``members`` are replaced (or dropped, when given as None); every other
    member is copied as stored."""
    members = members or {}
    import zipfile

    with _damage_as_book_error(source), zipfile.ZipFile(source) as archive, \
            open(source, "rb") as raw:
        infos = {info.filename: info for info in archive.infolist()}
        parts = sheet_parts(archive, source.name)
        missing = [name for name in grids if name not in parts]
        if missing:
            raise BookError(f"{source.name} has no sheet named {missing[0]!r} to write into")
        replaced = {parts[name]: name for name in grids}
        styles = _Styles(archive.read("xl/styles.xml") if "xl/styles.xml" in infos else b"",
                         source.name)
        writer = _ZipWriter(handle)
        for info in archive.infolist():
            if info.filename in members:
                if members[info.filename] is not None:  # None: the member is dropped
                    writer.add(info, members[info.filename])
            elif info.filename in replaced:
                sheet = replaced[info.filename]
                xml = archive.read(info).decode("utf-8")
                writer.add_pieces(info, sheet_xml(xml, grids[sheet], OUTPUT_SHEETS.get(
                    sheet, 1), styles))
            elif info.filename == "xl/workbook.xml":
                xml = archive.read(info)
                patched = full_calc_on_load(xml)
                if patched == xml:
                    writer.copy(raw, info)
                else:
                    writer.add(info, patched)
            else:
                writer.copy(raw, info)
        writer.close()


def full_calc_on_load(xml: bytes) -> bytes:
    """workbook.xml with ``<calcPr fullCalcOnLoad="1">``: Excel and LibreOffice recalculate
    every formula on open (Start and the Dashboard refer to Forecast)."""
    text = xml.decode("utf-8")
    match = re.search(r"<((?:\w+:)?)calcPr\b([^>]*?)(/?)>", text)
    if match:
        attrs = match.group(2)
        if re.search(r'\bfullCalcOnLoad="(1|true)"', attrs):
            return xml
        attrs = re.sub(r'\s*\bfullCalcOnLoad="[^"]*"', "", attrs) + ' fullCalcOnLoad="1"'
        new = f"<{match.group(1)}calcPr{attrs}{match.group(3)}>"
        return (text[:match.start()] + new + text[match.end():]).encode("utf-8")
    prefix = re.match(r"[\s\S]*?<((?:\w+:)?)workbook\b", text).group(1)
    for anchor in (f"</{prefix}definedNames>", f"</{prefix}sheets>"):
        at = text.find(anchor)
        if at >= 0:
            at += len(anchor)
            return (text[:at] + f'<{prefix}calcPr fullCalcOnLoad="1"/>' + text[at:]).encode()
    return xml


# --- the sheet XML -----------------------------------------------------------------------------

_SHEET_DATA = re.compile(r"<((?:\w+:)?)sheetData\b[^>]*?(/?)>")
_ROW = re.compile(r"<(?:\w+:)?row\b([^>]*?)(?:/>|>([\s\S]*?)</(?:\w+:)?row>)")
_CELL = re.compile(r"<(?:\w+:)?c\b([^>]*?)(?:/>|>)")
_ATTR = re.compile(r'([\w:]+)="([^"]*)"')


def sheet_xml(xml: str, grid: list[list], header_row: int, styles) -> Iterator[str]:
    """The worksheet ``xml`` with its cells replaced by ``grid`` (rows from A1), in pieces of
    a few thousand rows made as they are asked for (so that the writer can compress one piece
    while the next is made)."""
    match = _SHEET_DATA.search(xml)
    if match is None:
        raise BookError("a worksheet without <sheetData>: the book is damaged")
    prefix = match.group(1)
    if match.group(2):  # <sheetData/>
        end = match.end()
        old = ""
    else:
        close = f"</{prefix}sheetData>"
        end_at = xml.find(close, match.end())
        if end_at < 0:
            raise BookError("a worksheet whose <sheetData> does not end: the book is damaged")
        old = xml[match.end():end_at]
        end = end_at + len(close)
    cell_styles, row_attrs = _template_styles(old, header_row + 1)
    width = max([len(row) for row in grid] + [c for (_, c) in cell_styles] + [1])
    last_row = max(len(grid), header_row + 1)
    ref = f"A1:{get_column_letter(width)}{last_row}"
    yield re.sub(r'(<(?:\w+:)?dimension\b[^>]*?\bref=")[^"]*(")', rf"\g<1>{ref}\g<2>",
                 xml[:match.start()], count=1) + f"<{prefix}sheetData>"
    for piece in sheet_rows(grid, header_row, cell_styles, row_attrs, styles):
        yield piece if prefix == "" else \
            piece.replace("<", "<" + prefix).replace("<" + prefix + "/", "</" + prefix)
    yield f"</{prefix}sheetData>" + xml[end:]


def _template_styles(sheet_data: str, last_row: int):
    """({(row, column): style id}, {row: extra row attributes}) of the rows up to ``last_row``."""
    cells: dict[tuple[int, int], str] = {}
    attrs: dict[int, str] = {}
    row_number = 0
    for row in _ROW.finditer(sheet_data):
        found = dict(_ATTR.findall(row.group(1)))
        row_number = int(found.get("r", row_number + 1))
        if row_number > last_row:
            break
        kept = " ".join(f'{k}="{v}"' for k, v in found.items()
                        if k in ("ht", "customHeight", "hidden", "s", "customFormat"))
        if kept:
            attrs[row_number] = " " + kept
        column = 0
        for cell in _CELL.finditer(row.group(2) or ""):
            found_cell = dict(_ATTR.findall(cell.group(1)))
            ref = found_cell.get("r")
            column = _column_number(ref) if ref else column + 1
            if "s" in found_cell:
                cells[(row_number, column)] = found_cell["s"]
    return cells, attrs


def _column_number(ref: str) -> int:
    number = 0
    for ch in ref:
        if not ch.isalpha():
            break
        number = number * 26 + (ord(ch.upper()) - 64)
    return number


ROWS_PER_PIECE = 5000


def sheet_rows(grid: list[list], header_row: int, cell_styles: dict, row_attrs: dict,
               styles) -> Iterator[str]:
    """The ``<row>`` elements for ``grid``, a few thousand rows at a time. Rows up to the first
    table row keep every styled cell of the template (empty if the grid has no value there);
    table rows take the styles of the first table row."""
    body_row = header_row + 1
    template_cols = {}
    for (r, c), s in cell_styles.items():
        template_cols.setdefault(r, {})[c] = s
    parts = []
    for r in range(1, body_row + 1):  # the template's rows, cell by cell
        values = grid[r - 1] if r <= len(grid) else []
        styled = template_cols.get(r, {})
        cells = [cell_xml(f"{get_column_letter(c)}{r}", styled.get(c),
                          values[c - 1] if c <= len(values) else None, styles)
                 for c in sorted(set(range(1, len(values) + 1)) | set(styled))]
        if any(cells) or r in row_attrs:
            parts.append(f'<row r="{r}"{row_attrs.get(r, "")}>{"".join(cells)}</row>')
    yield "".join(parts)
    for start in range(body_row, len(grid), ROWS_PER_PIECE):
        yield "".join(_table_rows(grid[start:start + ROWS_PER_PIECE], start + 1,
                                  template_cols.get(body_row, {}), styles))


_ABSENT = object()  # a cell beyond the end of a short row: no <c> at all


def _table_rows(rows: list[list], first: int, styled: dict, styles) -> list[str]:
    """``<row>`` elements for the table rows below the first one (sheet rows from ``first``),
    built column by column: each column has one style, so its cells share their markup."""
    width = max(map(len, rows), default=0)
    if not width:
        return []
    numbers = range(first, first + len(rows))
    columns = [_column_cells(get_column_letter(c), styled.get(c),
                             [row[c - 1] if c <= len(row) else _ABSENT for row in rows],
                             numbers, styles)
               for c in range(1, width + 1)]
    return [f'<row r="{r}">{cells}</row>'
            for r, cells in zip(numbers, map("".join, zip(*columns))) if cells]


def _column_cells(letter: str, style, values: list, numbers, styles) -> list[str]:
    """The ``<c>`` of each value of one column (what ``cell_xml`` gives, with the common
    number and text cases inlined: a table column holds a hundred thousand of them)."""
    s = f' s="{style}"' if style is not None else ""
    out = []
    add = out.append
    for r, value in zip(numbers, values):
        kind = type(value)
        if kind is float:
            if value - value == 0:  # finite
                add(f'<c r="{letter}{r}"{s}><v>{value!r}</v></c>')
            else:
                add(f'<c r="{letter}{r}"{s}/>' if s else "")
        elif kind is str:
            add(_text_xml(f"{letter}{r}", s, value))
        elif value is None:
            add(f'<c r="{letter}{r}"{s}/>' if s else "")
        elif value is _ABSENT:
            add("")
        else:
            add(cell_xml(f"{letter}{r}", style, value, styles))
    return out


def cell_xml(ref: str, style, value, styles) -> str:
    """One ``<c>``: text as an inline string (never a formula), numbers, booleans, dates."""
    s = f' s="{style}"' if style is not None else ""
    if value is None or value is pd.NaT:
        return f'<c r="{ref}"{s}/>' if style is not None else ""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            return f'<c r="{ref}"{s}/>' if style is not None else ""
        return f'<c r="{ref}"{s}><v>{value!r}</v></c>'
    if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
        date_style = styles.date_style if not styles.is_date(style) else style
        if date_style is not None:
            stamp = pd.Timestamp(value).to_pydatetime().replace(tzinfo=None)
            serial = (stamp - _EXCEL_EPOCH) / dt.timedelta(days=1)
            return f'<c r="{ref}" s="{date_style}"><v>{serial!r}</v></c>'
        value = pd.Timestamp(value).date().isoformat()
    return _text_xml(ref, s, str(value))


def _text_xml(ref: str, s: str, value: str) -> str:
    """A text cell as an inline string (``s``: the style attribute or "")."""
    text = _escape(value)
    space = ' xml:space="preserve"' if value != value.strip() else ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{text}</t></is></c>'


def _escape(text: str) -> str:
    """Text as XML character data that Excel reads back as the same text: a carriage return
    as a character reference (a raw one would become a line feed), and text that looks like
    Excel's own escapes (``_x000D_``) escaped in turn."""
    text = _INVALID_XML.sub("\ufffd", text)
    if "_x" in text:
        text = _EXCEL_ESCAPE.sub(r"_x005F\g<0>", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\r", "&#13;") if "\r" in text else text


class _Styles:
    """Which cell formats (``s=``) of styles.xml show dates."""

    _BUILTIN_DATES = set(range(14, 23)) | set(range(45, 48))

    def __init__(self, xml: bytes, book: str = "the book") -> None:
        self.date_ids: set[str] = set()
        self.date_style: str | None = None
        if not xml:
            return
        root = parse_xml(xml, "xl/styles.xml", book)
        custom = {}
        for fmt in root.iter(f"{{{_NS_MAIN}}}numFmt"):
            code = re.sub(r'"[^"]*"|\[[^\]]*\]', "", fmt.get("formatCode", "")).lower()
            custom[int(fmt.get("numFmtId"))] = "y" in code and "d" in code
        xfs = root.find(f"{{{_NS_MAIN}}}cellXfs")
        for i, xf in enumerate([] if xfs is None else list(xfs)):
            number = int(xf.get("numFmtId", 0))
            if custom.get(number, number in self._BUILTIN_DATES):
                self.date_ids.add(str(i))
        self.date_style = min(self.date_ids, key=int) if self.date_ids else None

    def is_date(self, style) -> bool:
        return style is not None and str(style) in self.date_ids


# --- a small zip writer that copies members as stored ------------------------------------------

class _ZipWriter:
    """Writes a zip: members of another zip copied as stored (no recompression), new members
    deflated. No zip64: a book is refused long before 4 GB (``check_size``)."""

    def __init__(self, handle) -> None:
        self.f = handle
        self.entries: list[tuple] = []

    def copy(self, raw, info) -> None:
        if info.flag_bits & 0x1:
            raise BookError(f"{info.filename} is encrypted: cannot write this book")
        raw.seek(info.header_offset)
        header = raw.read(30)
        if header[:4] != b"PK\x03\x04":
            raise BookError("the book's zip is damaged")
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        raw.seek(info.header_offset + 30 + name_len + extra_len)
        self._header(info, info.CRC, info.compress_size, info.file_size, info.compress_type)
        remaining = info.compress_size
        while remaining:
            chunk = raw.read(min(remaining, 1 << 20))
            if not chunk:
                raise BookError("the book's zip is truncated")
            self.f.write(chunk)
            remaining -= len(chunk)

    def add(self, info, data: bytes) -> None:
        packer = zlib.compressobj(1, zlib.DEFLATED, -15)  # fastest level: these parts are rewritten every run
        packed = packer.compress(data) + packer.flush()
        self._header(info, zlib.crc32(data), len(packed), len(data), 8)
        self.f.write(packed)

    def add_pieces(self, info, pieces: Iterable[str]) -> None:
        """A new member from text made in pieces: each piece is deflated on a second thread
        while the next is made (zlib lets go of the GIL), and the sizes and CRC, known only at
        the end, are written back into the member's header."""
        packer = zlib.compressobj(1, zlib.DEFLATED, -15)
        crc = size = packed = 0

        def pack(text: str) -> None:
            nonlocal crc, size, packed
            data = text.encode("utf-8")
            crc, size = zlib.crc32(data, crc), size + len(data)
            out = packer.compress(data)
            packed += len(out)
            self.f.write(out)

        self._header(info, 0, 0, 0, 8)
        at = self.entries[-1][8]  # where the member's local header starts
        with ThreadPoolExecutor(max_workers=1) as worker:
            pending = None
            for piece in pieces:
                if pending is not None:
                    pending.result()
                pending = worker.submit(pack, piece)
            if pending is not None:
                pending.result()
        tail = packer.flush()
        packed += len(tail)
        self.f.write(tail)
        if max(packed, size) >= 0xFFFFFFFF:
            raise BookError("the book is too large to write (over 4 GB)")
        end = self.f.tell()
        self.f.seek(at + 14)
        self.f.write(struct.pack("<III", crc, packed, size))
        self.f.seek(end)
        self.entries[-1] = self.entries[-1][:5] + (crc, packed, size) + self.entries[-1][8:]

    def _header(self, info, crc, csize, usize, method) -> None:
        if max(csize, usize, self.f.tell()) >= 0xFFFFFFFF:
            raise BookError("the book is too large to write (over 4 GB)")
        name = info.filename.encode("utf-8")
        flags = (info.flag_bits & ~0x08) | (0x800 if not info.filename.isascii() else 0)
        y, mo, d, h, mi, s = info.date_time
        dosdate = max(y - 1980, 0) << 9 | mo << 5 | d
        dostime = h << 11 | mi << 5 | (s // 2)
        offset = self.f.tell()
        self.f.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, method, dostime, dosdate,
                                 crc, csize, usize, len(name), 0) + name)
        self.entries.append((name, flags, method, dostime, dosdate, crc, csize, usize, offset,
                             info.external_attr))

    def close(self) -> None:
        start = self.f.tell()
        for name, flags, method, dostime, dosdate, crc, csize, usize, offset, ext in self.entries:
            self.f.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, method,
                                     dostime, dosdate, crc, csize, usize, len(name), 0, 0, 0, 0,
                                     ext & 0xFFFFFFFF, offset) + name)
        size = self.f.tell() - start
        self.f.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(self.entries),
                                 len(self.entries), size, start, 0))


# --- files -------------------------------------------------------------------------------------

def _staged_copy(path: Path, target: Path) -> Path:
    """``path`` under a hidden temporary name of a run on ``target`` (a hard link where the
    disk allows, else a copy)."""
    fd, staging = tempfile.mkstemp(prefix=temp_prefix(target), suffix=".tmp",
                                   dir=_folder(target))
    os.close(fd)
    os.unlink(staging)
    try:
        os.link(path, staging)
    except OSError:
        shutil.copy2(path, staging)
    return Path(staging)


def _remove(path: Path | None) -> None:
    if path is None:
        return
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(folder if str(folder) else ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
