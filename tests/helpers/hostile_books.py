"""A corpus of malicious and corrupt books, made from a good book at test time (no binaries
are committed): entity bombs and external entities in each kind of XML part, zip members
that lie about their size or CRC, damaged compressed data, relationships that point outside
the package, control characters in styles, and files that are not books at all.

Each maker takes the bytes of a good book and returns the bytes of the hostile one.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile

SHEETS = {"Clients": "xl/worksheets/sheet3.xml", "Sessions": "xl/worksheets/sheet4.xml",
          "Contacts": "xl/worksheets/sheet5.xml", "Forecast": "xl/worksheets/sheet8.xml",
          "Settings": "xl/worksheets/sheet2.xml"}
WORKBOOK, RELS, STYLES = "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml"

LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % ("" if i == 1 else i - 1)) * 10}">'
                    for i in range(1, 10))
          + "]>")
XXE = '<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
XXE_PARAM = '<!DOCTYPE foo [<!ENTITY % ext SYSTEM "file:///etc/passwd"> %ext;]>'


def members(book: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(book)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def rezip(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


def replace(book: bytes, name: str, data: bytes) -> bytes:
    parts = members(book)
    parts[name] = data
    return rezip(parts)


def with_doctype(book: bytes, name: str, doctype: str, use: str) -> bytes:
    """Member ``name`` with ``doctype`` before its root element and ``use`` (an entity
    reference, or "") in the first text node (<t> or <v>), else just inside the root."""
    xml = re.sub(r"^<\?xml[^>]*\?>", "", members(book)[name].decode("utf-8"))
    if use:
        spot = re.search(r"<(t|v)(\s[^>]*)?>", xml) or re.search(r"<[A-Za-z][^>]*?>", xml)
        xml = xml[:spot.end()] + use + xml[spot.end():]
    return replace(book, name, (doctype + xml).encode("utf-8"))


def _patch_member_header(book: bytes, name: str, **fields) -> bytes:
    """Patch the CRC, compressed or uncompressed size of member ``name`` in both its local
    header and its central directory entry."""
    data = bytearray(book)
    with zipfile.ZipFile(io.BytesIO(book)) as archive:
        info = archive.getinfo(name)
    offsets = {"crc": 0, "csize": 4, "usize": 8}
    local = info.header_offset + 14
    for key, value in fields.items():
        struct.pack_into("<I", data, local + offsets[key], value)
    encoded = name.encode("utf-8")
    at = 0
    while True:
        at = data.find(b"PK\x01\x02", at)
        if at < 0:
            break
        name_len = struct.unpack_from("<H", data, at + 28)[0]
        if bytes(data[at + 46:at + 46 + name_len]) == encoded:
            for key, value in fields.items():
                struct.pack_into("<I", data, at + 16 + offsets[key], value)
        at += 4
    return bytes(data)


def bad_crc(book: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(book)) as archive:
        crc = archive.getinfo(name).CRC
    return _patch_member_header(book, name, crc=crc ^ 0xDEADBEEF)


def lying_size(book: bytes, name: str) -> bytes:
    """The member really unpacks to far more than its headers say (a zip bomb that lies)."""
    xml = members(book)[name]
    padding = b"<!--" + b" " * 60_000_000 + b"-->"
    big = xml.replace(b"?>", b"?>" + padding, 1) if xml.startswith(b"<?xml") else padding + xml
    bomb = replace(book, name, big)
    return _patch_member_header(bomb, name, usize=len(xml))


def damaged_data(book: bytes, name: str) -> bytes:
    """The member's compressed bytes overwritten in the middle."""
    data = bytearray(book)
    with zipfile.ZipFile(io.BytesIO(book)) as archive:
        info = archive.getinfo(name)
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_len + extra_len
    middle = start + info.compress_size // 3
    for i in range(min(64, info.compress_size // 3)):
        data[middle + i] ^= 0x5A
    return bytes(data)


def truncated(book: bytes) -> bytes:
    return book[:len(book) // 2]


def rels_target(book: bytes, sheet_id: str, target: str, external: bool = False) -> bytes:
    xml = members(book)[RELS].decode("utf-8")
    pattern = rf'(<Relationship\b[^>]*?Target=")[^"]*("[^>]*?Id="{sheet_id}")'
    xml, count = re.subn(pattern, rf"\g<1>{target}\g<2>", xml)
    if not count:
        pattern = rf'(<Relationship\b[^>]*?Id="{sheet_id}"[^>]*?Target=")[^"]*(")'
        xml, count = re.subn(pattern, rf"\g<1>{target}\g<2>", xml)
    assert count == 1, "the rels of the template changed"
    if external:
        xml = xml.replace(f'Target="{target}"', f'Target="{target}" TargetMode="External"')
    return replace(book, RELS, xml.encode("utf-8"))


def control_chars_in_styles(book: bytes) -> bytes:
    xml = members(book)[STYLES]
    return replace(book, STYLES, xml.replace(b"<numFmts", b"\x01\x02<numFmts", 1)
                   if b"<numFmts" in xml else xml.replace(b"<fonts", b"\x01\x02<fonts", 1))


def not_well_formed(book: bytes, name: str) -> bytes:
    xml = members(book)[name]
    return replace(book, name, xml[:len(xml) // 2])


def missing(book: bytes, name: str) -> bytes:
    parts = members(book)
    del parts[name]
    return rezip(parts)


def encrypted_flag(book: bytes, name: str) -> bytes:
    """Member ``name`` marked as encrypted (general purpose flag bit 0)."""
    data = bytearray(book)
    with zipfile.ZipFile(io.BytesIO(book)) as archive:
        info = archive.getinfo(name)
    flags = struct.unpack_from("<H", data, info.header_offset + 6)[0]
    struct.pack_into("<H", data, info.header_offset + 6, flags | 1)
    at = data.find(b"PK\x01\x02")
    encoded = name.encode()
    while at >= 0:
        name_len = struct.unpack_from("<H", data, at + 28)[0]
        if bytes(data[at + 46:at + 46 + name_len]) == encoded:
            f = struct.unpack_from("<H", data, at + 8)[0]
            struct.pack_into("<H", data, at + 8, f | 1)
        at = data.find(b"PK\x01\x02", at + 4)
    return bytes(data)


def corpus() -> dict[str, object]:
    """Case name -> a maker of the hostile book's bytes from the good book's bytes."""
    cases: dict[str, object] = {}
    parts = {"Sessions sheet": SHEETS["Sessions"], "Clients sheet": SHEETS["Clients"],
             "Settings sheet": SHEETS["Settings"], "Forecast sheet": SHEETS["Forecast"],
             "workbook": WORKBOOK, "rels": RELS, "styles": STYLES,
             "content types": "[Content_Types].xml"}
    for label, name in parts.items():
        cases[f"billion laughs in {label}"] = (
            lambda b, n=name: with_doctype(b, n, LAUGHS, "&lol9;"))
        cases[f"external entity in {label}"] = (
            lambda b, n=name: with_doctype(b, n, XXE, "&xxe;"))
        cases[f"external parameter entity in {label}"] = (
            lambda b, n=name: with_doctype(b, n, XXE_PARAM, ""))
    for label in ("Sessions", "Clients", "Forecast", "Settings"):
        name = SHEETS[label]
        cases[f"lying size of {label}"] = lambda b, n=name: lying_size(b, n)
        cases[f"bad CRC of {label}"] = lambda b, n=name: bad_crc(b, n)
        cases[f"damaged data of {label}"] = lambda b, n=name: damaged_data(b, n)
        cases[f"half of the {label} XML"] = lambda b, n=name: not_well_formed(b, n)
    for name in (WORKBOOK, STYLES):
        cases[f"bad CRC of {name}"] = lambda b, n=name: bad_crc(b, n)
        cases[f"damaged data of {name}"] = lambda b, n=name: damaged_data(b, n)
        cases[f"half of {name}"] = lambda b, n=name: not_well_formed(b, n)
    cases["bad CRC of an untouched part"] = lambda b: bad_crc(b, "xl/theme/theme1.xml")
    cases["Sessions target outside the package"] = (
        lambda b: rels_target(b, "rId4", "../../../../etc/passwd"))
    cases["Sessions target an absolute path"] = lambda b: rels_target(b, "rId4", "/etc/passwd")
    cases["Sessions target a file URL"] = (
        lambda b: rels_target(b, "rId4", "file:///etc/passwd", external=True))
    cases["Forecast target outside the package"] = (
        lambda b: rels_target(b, "rId8", "../../outside.xml"))
    cases["Sessions target a missing part"] = lambda b: rels_target(b, "rId4", "worksheets/nope.xml")
    cases["control characters in styles"] = control_chars_in_styles
    cases["no workbook.xml"] = lambda b: missing(b, WORKBOOK)
    cases["no workbook rels"] = lambda b: missing(b, RELS)
    cases["no Sessions part"] = lambda b: missing(b, SHEETS["Sessions"])
    cases["no Forecast part"] = lambda b: missing(b, SHEETS["Forecast"])
    cases["encrypted Sessions member"] = lambda b: encrypted_flag(b, SHEETS["Sessions"])
    cases["encrypted untouched member"] = lambda b: encrypted_flag(b, "xl/theme/theme1.xml")
    cases["truncated file"] = truncated
    cases["empty file"] = lambda b: b""
    cases["text file"] = lambda b: b"Date,Client ID,Amount\n2026-01-01,C1,10\n"
    cases["random bytes"] = lambda b: bytes(range(256)) * 64
    cases["zip with nothing in it"] = lambda b: rezip({})
    return cases
