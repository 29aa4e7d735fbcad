"""The zip package of a book, checked before any part of it is parsed.

A book is a zip of XML parts. Before a reader or writer touches it, :func:`check_package`
refuses, each with one line (:class:`PackageError`):

- a file that is not a zip, or whose zip declares more than ``max_unpacked`` bytes;
- a member that is encrypted, whose compressed data is damaged, that unpacks to more or to
  other bytes than its header says (a size or CRC that lies): every member is unpacked once
  here, streamed, so its CRC is checked before the book is copied (members are copied as
  stored) and no reader ever sees more bytes than declared;
- an XML part that declares a DTD (``<!DOCTYPE``): the Open Packaging Conventions do not
  allow one and Excel never writes one; entity expansion ("billion laughs") and external
  entities (a local file read through XXE) both need it;
- a workbook whose sheets are not parts of the package: a relationship that is external, that
  climbs out of the package (``../../etc/passwd``) or that names a missing part.

:func:`sheet_parts` (sheet name -> zip member) is the one reading of workbook.xml and its rels
for both this check and the writer.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath


from .cell_errors import ErrorScanner

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
WORKBOOK, WORKBOOK_RELS = "xl/workbook.xml", "xl/_rels/workbook.xml.rels"
WORKSHEETS = "xl/worksheets/"
#: Parts read as XML (a DTD in any of them is refused).
XML_SUFFIXES = (".xml", ".rels", ".vml")
#: The XML declaration, comments and processing instructions before the root element are
#: read up to this many bytes; Excel writes well under a hundred.
MAX_PROLOG_BYTES = 1 << 20
_CHUNK = 1 << 20


class PackageError(ValueError):
    """The file is not a sound book package: the message says why, in one line."""


@dataclass
class Package:
    """What the check found: {sheet name: zip member} and, for each worksheet part under
    xl/worksheets/, its error cells (:func:`clv_xl.book.cell_errors.error_cells`)."""

    parts: dict[str, str]
    error_cells: dict[str, dict] = field(default_factory=dict)


def check_package(path: Path, max_unpacked: int) -> Package:
    """Check the zip at ``path`` as described in the module docstring (one pass over the
    unpacked parts, which also finds the worksheets' error cells)."""
    name = Path(path).name
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            unpacked = sum(info.file_size for info in infos)
            if unpacked > max_unpacked:
                raise PackageError(
                    f"{name} unpacks to {unpacked / 1e9:.1f} GB; refusing to read it: clv-xl "
                    f"reads books up to {max_unpacked / 1e9:.0f} GB unpacked (about 4,000,000 "
                    "sessions); move older sessions to an archive copy of the book and run "
                    "again")
            errors = {}
            for info in infos:
                scanner = ErrorScanner() if info.filename.startswith(WORKSHEETS) else None
                _check_member(archive, info, name, scanner)
                if scanner is not None:
                    errors[info.filename] = scanner.finish()
            return Package(sheet_parts(archive, name), errors)
    except PackageError:
        raise
    except zipfile.BadZipFile:
        raise PackageError(f"{name} is not an Excel workbook (.xlsx/.xlsm): its zip cannot "
                           "be read") from None
    except (zipfile.LargeZipFile, NotImplementedError, EOFError, zlib.error, OSError,
            ValueError) as exc:
        raise PackageError(f"{name} is damaged ({one_line(exc)}): it cannot be read") from None


def _check_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, book: str,
                  scanner=None) -> None:
    """Unpack one member, streamed: CRC and size checked; XML parts: no DTD in the prolog;
    ``scanner`` (if any) is fed every chunk."""
    if info.flag_bits & 0x1:
        raise PackageError(f"{book}: the part {info.filename} is encrypted (a password-"
                           "protected book?): clv-xl reads only books without a password")
    is_xml = info.filename.lower().endswith(XML_SUFFIXES)
    head = b""
    try:
        with archive.open(info) as member:
            while True:
                chunk = member.read(_CHUNK)
                if not chunk:
                    break
                if scanner is not None:
                    scanner.feed(chunk)
                if is_xml and head is not None:
                    head += chunk
                    if _prolog_has_dtd(head, info.filename, book):
                        head = None  # the prolog is over: no DTD
    except zipfile.BadZipFile as exc:
        raise PackageError(f"{book} is damaged: the part {info.filename} does not unpack to "
                           f"what its zip header says ({one_line(exc)})") from None
    except (zlib.error, EOFError) as exc:
        raise PackageError(f"{book} is damaged: the part {info.filename} cannot be unpacked "
                           f"({one_line(exc)})") from None
    if is_xml and head:
        _prolog_has_dtd(head, info.filename, book, final=True)


_PROLOG_ITEM = re.compile(rb"\s+|<\?.*?\?>|<!--.*?-->", re.S)


def _prolog_has_dtd(head: bytes, member: str, book: str, final: bool = False) -> bool:
    """True once the prolog of ``head`` is known to end without a DTD; PackageError on a
    DTD; False while more bytes are needed."""
    text = _as_ascii(head)
    at = 0
    while True:
        match = _PROLOG_ITEM.match(text, at)
        if match is None or match.end() == at:
            break
        at = match.end()
    rest = text[at:at + 9]
    if rest.upper().startswith(b"<!DOCTYPE"):
        raise PackageError(f"{book}: the part {member} declares a DTD (<!DOCTYPE>), which "
                           "Excel never writes and which can hide an XML attack: refusing it")
    if len(rest) >= 9 or final:
        return True
    if len(head) > MAX_PROLOG_BYTES:
        raise PackageError(f"{book}: the part {member} starts with over 1 MB of comments: "
                           "refusing it")
    return False


def _as_ascii(head: bytes) -> bytes:
    """The markup of ``head`` as single bytes (a UTF-16 part without its zero bytes)."""
    if head[:2] == b"\xff\xfe":
        return head[2::2]
    if head[:2] == b"\xfe\xff":
        return head[3::2]
    return head[3:] if head[:3] == b"\xef\xbb\xbf" else head


def sheet_parts(archive: zipfile.ZipFile, book: str = "the book") -> dict[str, str]:
    """Sheet name -> the zip member of its worksheet XML (via workbook.xml and its rels).
    A sheet whose relationship is external, leaves the package or names no member is
    refused (PackageError)."""
    names = set(archive.namelist())
    for part in (WORKBOOK, WORKBOOK_RELS):
        if part not in names:
            raise PackageError(f"{book} is damaged: it has no {part}")
    workbook = parse_xml(archive.read(WORKBOOK), WORKBOOK, book)
    rels = parse_xml(archive.read(WORKBOOK_RELS), WORKBOOK_RELS, book)
    targets = {rel.get("Id"): rel for rel in rels.iter(f"{{{_NS_PKG}}}Relationship")}
    parts = {}
    for sheet in workbook.iter(f"{{{_NS_MAIN}}}sheet"):
        name = sheet.get("name")
        rel = targets.get(sheet.get(f"{{{_NS_REL}}}id"))
        if rel is None or not rel.get("Target"):
            continue
        target = rel.get("Target")
        member = _member(target)
        if rel.get("TargetMode") == "External" or member is None or "://" in target:
            raise PackageError(f"{book}: the sheet {str(name)[:31]!r} points outside the book "
                               f"({target[:60]!r}): the book is damaged or tampered with")
        if member not in names:
            raise PackageError(f"{book} is damaged: the sheet {str(name)[:31]!r} has no part "
                               f"in the book ({target[:60]!r} is missing)")
        parts[name] = member
    return parts


def _member(target: str) -> str | None:
    """The zip member a relationship target of workbook.xml names, or None if it climbs
    out of the package."""
    path = target[1:] if target.startswith("/") else str(PurePosixPath("xl") / target)
    out: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if not out:
                return None
            out.pop()
        elif part not in ("", "."):
            out.append(part)
    return "/".join(out)


def parse_xml(data: bytes, member: str, book: str = "the book"):
    """An XML part parsed safely (defusedxml); a damaged or hostile part is a PackageError.
    defusedxml is imported here: reading files is the desktop's, and xlwings Lite has none."""
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    try:
        return ElementTree.fromstring(data)
    except DefusedXmlException:
        raise PackageError(f"{book}: the part {member} declares XML entities, which Excel "
                           "never writes: refusing it") from None
    except ElementTree.ParseError as exc:
        raise PackageError(f"{book} is damaged: the part {member} is not well-formed XML "
                           f"({one_line(exc)})") from None


def one_line(error: BaseException, limit: int = 160) -> str:
    """An exception's message on one line, cut to ``limit`` characters."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[:limit - 1] + "…"
