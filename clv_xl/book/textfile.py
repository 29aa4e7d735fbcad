"""Reading a CSV file as real systems write it: any common encoding and delimiter.

- Encoding: a byte-order mark decides (UTF-8, UTF-16, UTF-32); else strict UTF-8; else
  UTF-16 without a mark (every other byte zero); else charset-normalizer's best guess among
  the single-byte code pages that CSV exports use (cp1252 first: Excel's "CSV (Comma
  delimited)" on Windows), with cp1252 as the last resort.
- Delimiter: :class:`csv.Sniffer` over the first lines, checked against the header: the
  candidate (comma, semicolon, tab, pipe) that splits the header into the most fields wins
  when the sniffer's choice gives fewer (decimal commas fool it on semicolon files).
- Rows: :mod:`csv` in strict mode, so an unclosed quote is one clear error, not the rest of
  the file swallowed into one cell.

A file that is a workbook (a zip, or an old .xls) or binary is named as such, in one line.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from pathlib import Path

from .io import BookError

DELIMITERS = ",;\t|"
_SAMPLE_LINES = 50
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
#: Code pages charset-normalizer may choose from, for files that are not UTF.
_CODE_PAGES = ["cp1252", "latin_1", "cp1250", "cp1257", "iso8859_15", "mac_roman",
               "shift_jis", "cp932", "euc_jp"]


@dataclass(frozen=True)
class TextTable:
    rows: list[list]  # every row as text cells; "" for a blank cell
    encoding: str
    delimiter: str


def looks_like_workbook(data: bytes) -> str | None:
    """'xlsx' for a zip (an .xlsx/.xlsm, whatever its name), 'xls' for an old Excel file."""
    if data[:4] == b"PK\x03\x04":
        return "xlsx"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "xls"
    return None


def decode(data: bytes, name: str) -> tuple[str, str]:
    """(text, encoding) of a text file's bytes; BookError for binary content."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError:
                break
    sample = data[:4096]
    if len(sample) >= 4 and sample.count(0) >= len(sample) // 3:
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        encoding = "utf-16-le" if odd > even else "utf-16-be"
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            raise BookError(f"{name} does not look like a text CSV file (binary content)") \
                from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if _binary(sample):
        raise BookError(f"{name} does not look like a text CSV file (binary content)")
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=_CODE_PAGES).best()
    encoding = best.encoding if best is not None else "cp1252"
    if encoding != "cp1252" and _same_text(data, encoding, "cp1252"):
        encoding = "cp1252"  # short files fit several code pages: Excel's Windows default
    try:
        return data.decode(encoding), encoding
    except (UnicodeDecodeError, LookupError):
        return data.decode("cp1252", errors="replace"), "cp1252"


def _same_text(data: bytes, one: str, other: str) -> bool:
    try:
        return data.decode(one) == data.decode(other)
    except (UnicodeDecodeError, LookupError):
        return False


def _binary(sample: bytes) -> bool:
    """Control bytes other than tab, CR, LF and form feed: not text."""
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    return controls > max(2, len(sample) // 100)


def sniff_delimiter(text: str) -> str:
    """The delimiter of a CSV text (comma when nothing else fits)."""
    lines = [line for line in text.splitlines()[:_SAMPLE_LINES] if line.strip()]
    if not lines:
        return ","
    try:
        sniffed = csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = None
    fields = {d: _header_fields(lines[0], d) for d in DELIMITERS}
    widest = max(DELIMITERS, key=lambda d: (fields[d], d == ","))
    if sniffed is None or fields[sniffed] < fields[widest]:
        return widest
    return sniffed


def _header_fields(line: str, delimiter: str) -> int:
    try:
        return len(next(csv.reader([line], delimiter=delimiter)))
    except (csv.Error, StopIteration):
        return 0


def read_text_table(path: Path) -> TextTable:
    """The rows of a CSV file (BookError, one line, when it cannot be read as one)."""
    data = path.read_bytes()
    kind = looks_like_workbook(data)
    if kind == "xls":
        raise BookError(f"{path.name} is an old Excel .xls workbook: save it as .xlsx or CSV")
    if kind == "xlsx":
        raise BookError(f"{path.name} is a workbook, not a CSV file")  # the caller reads it
    text, encoding = decode(data, path.name)
    if "\x00" in text:
        raise BookError(f"{path.name} does not look like a text CSV file (binary content)")
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[list] = []
    try:
        for row in reader:
            rows.append(row)
    except csv.Error as exc:
        line = reader.line_num
        if "unexpected end of data" in str(exc) or "EOF" in str(exc):
            opened = len(rows) + 2
            raise BookError(f"{path.name}: a quote opened in row {opened} is never closed") \
                from None
        raise BookError(f"{path.name}, line {line}: cannot be read as CSV ({exc})") from None
    return TextTable(rows, encoding, delimiter)
