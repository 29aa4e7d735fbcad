"""The macro-enabled template: the .xlsx plus a VBA module and a Recompute button (pyOpenVBA).

``build_macro_template(xlsx_path, xlsm_path)`` copies the book, gives it a VBA project holding
the module ``ClvRecompute`` in ``vba/ClvRecompute.bas`` (shipped in this package;
``workbook/vba/`` holds the committed copy, checked equal by a test), and puts a form-control
button labelled "Recompute", bound to the macro ``RecomputeCLV``, on the Start and Dashboard
sheets. The module is not named like the macro: Excel cannot resolve a macro name that is also
a module name. docs/button.md explains the button and why the macro calls the xlwings add-in by
name; docs/excel-compatibility.md what the tests prove about the file.

pyOpenVBA (6.5) leaves a few things as Excel would not accept or write them; ``_repair`` undoes
them: the main part's content type stays that of a .xlsx (Excel refuses such a .xlsm); a
worksheet uses ``r:id`` without declaring the ``r`` prefix (Start, which had no drawing
before); a sheet's existing drawing is replaced by the button's, which drops the Dashboard
charts (the original anchors go back next to the button, every prefix they use declared); the
button's control properties carry empty ``fmlaLink``/``fmlaRange`` attributes; and the VBA
project keeps another Office build's version and compiled code, where MS-OVBA 2.3.4.1 asks a
writer for version 0xFFFF and no performance cache.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from xml.etree import ElementTree
from importlib.resources import files
from pathlib import Path, PurePosixPath

MODULE = "ClvRecompute"
MACRO = "RecomputeCLV"
BUTTON_TEXT = "Recompute"
#: Where the button goes, in points from the sheet's top-left corner: (left, top, width, height).
#: Start: right of the text column B. Dashboard: above the second chart (column O, rows 1-3),
#: clear of the as-of line, whose text runs on to the right of column D.
BUTTONS = {"Start": (575.0, 8.0, 110.0, 30.0), "Dashboard": (0.0, 6.0, 110.0, 30.0)}
DASHBOARD_BUTTON_COLUMN = "O"

_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XDR = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
_REL = "http://schemas.openxmlformats.org/package/2006/relationships"


def vba_source() -> str:
    """The module's source as shipped: ``clv_xl/template/vba/ClvRecompute.bas``, CRLF lines."""
    text = files("clv_xl.template").joinpath("vba", f"{MODULE}.bas").read_text(encoding="utf-8")
    return "\r\n".join(text.replace("\r\n", "\n").split("\n"))


def recompute_command() -> str:
    """The Python command the macro sends to xlwings' RunPython (read from the module)."""
    found = re.search(r'RECOMPUTE_COMMAND As String = "([^"]*)"', vba_source())
    assert found, f"{MODULE}.bas lost its RECOMPUTE_COMMAND"
    return found.group(1)


XL_CALCULATION_MANUAL = -4135


def build_macro_template(xlsx_path, xlsm_path) -> Path:
    """Write ``xlsm_path``: the book at ``xlsx_path`` with the VBA module and the buttons."""
    from pyopenvba import ExcelFile
    from pyopenvba.apps.excel import ExcelApplication

    xlsx_path, xlsm_path = Path(xlsx_path), Path(xlsm_path)
    with tempfile.TemporaryDirectory(prefix="clv-xlsm-") as tmp:
        staged, with_vba, with_buttons = (Path(tmp) / n for n in ("a.xlsm", "b.xlsm", "c.xlsm"))
        _without_cells(xlsx_path, staged)
        with ExcelFile(staged) as book:
            book.add_vba_project().add_module(MODULE, vba_source())
            book.save(with_vba)
        app = ExcelApplication.open(with_vba)
        app.application.calculation = XL_CALCULATION_MANUAL  # nothing to work out on save
        for sheet, box in _button_boxes(xlsx_path).items():
            left, top, width, height = box
            app.sheet(sheet).add_button(name=BUTTON_TEXT, left=left, top=top, width=width,
                                        height=height, text=BUTTON_TEXT, macro=MACRO)
        app.save(with_buttons)
        xlsm_path.parent.mkdir(parents=True, exist_ok=True)
        _repair(xlsx_path, with_buttons, xlsm_path)
    return xlsm_path


def _without_cells(xlsx_path: Path, out: Path) -> None:
    """``xlsx_path`` with the cells of every sheet without a button left out, for pyOpenVBA.

    pyOpenVBA re-spells every formula it saves, in Python: minutes for a filled book's
    Calc sheet. Those sheets come back from the original in :func:`_repair` anyway.
    """
    with zipfile.ZipFile(xlsx_path) as src:
        parts = {name: src.read(name) for name in src.namelist()}
    light = {part for sheet, part in _sheets_by_name(parts).items() if sheet not in BUTTONS}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in parts.items():
            if name in light:
                data = re.sub(rb"<sheetData>.*</sheetData>", b"<sheetData/>", data, flags=re.S)
            dst.writestr(name, data)


def _button_boxes(xlsx_path) -> dict[str, tuple[float, float, float, float]]:
    """BUTTONS, with the Dashboard's left edge at column DASHBOARD_BUTTON_COLUMN."""
    from openpyxl import load_workbook
    from openpyxl.utils import column_index_from_string, get_column_letter

    ws = load_workbook(xlsx_path)["Dashboard"]
    left = 0.0
    for j in range(1, column_index_from_string(DASHBOARD_BUTTON_COLUMN)):
        dim = ws.column_dimensions.get(get_column_letter(j))
        left += _points(dim.width if dim is not None and dim.width else 8.43)
    boxes = dict(BUTTONS)
    _, top, width, height = boxes["Dashboard"]
    boxes["Dashboard"] = (round(left, 2), top, width, height)
    return boxes


def _points(width_chars: float) -> float:
    """A column width in characters of Calibri 11 as points (7 px a character, 5 px padding)."""
    return (int(width_chars * 7 + 0.5) + 5) * 0.75


def _repair(original, patched, out) -> None:
    """Copy ``patched`` to ``out``, declaring a missing ``r`` prefix and restoring drawings."""
    with zipfile.ZipFile(original) as src:
        before = {name: src.read(name) for name in src.namelist()}
    with zipfile.ZipFile(patched) as src:
        after = {info.filename: (info, src.read(info)) for info in src.infolist()}
    fixed: dict[str, bytes] = {}
    old_sheets, new_sheets = _sheets_by_name(before), _sheets_by_name({k: v[1] for k, v in after.items()})
    for sheet, old_part in old_sheets.items():
        old_drawing = _drawing_of(before, old_part)
        if old_drawing is None:
            continue
        new_part = new_sheets[sheet]
        new_drawing = _drawing_of({k: v[1] for k, v in after.items()}, new_part)
        if new_drawing is None:
            raise RuntimeError(f"{sheet}: the drawing disappeared from the macro-enabled book")
        old_xml, new_xml = before[old_drawing].decode(), after[new_drawing][1].decode()
        kept = _children(old_xml)
        if "graphicFrame" in kept and "graphicFrame" not in new_xml:
            fixed[new_drawing] = _merged_drawing(old_xml, new_xml).encode()
            fixed[_rels_path(new_drawing)] = _merged_rels(
                before.get(_rels_path(old_drawing)), after.get(_rels_path(new_drawing), (None, None))[1])
    main_part = _main_part(after["_rels/.rels"][1].decode())
    # the sheets without a button, as the original has them (pyOpenVBA saw them without cells)
    fixed.update({new_sheets[sheet]: before[part] for sheet, part in old_sheets.items()
                  if sheet not in BUTTONS})
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, (info, data) in after.items():
            data = fixed.pop(name, data)
            if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", name):
                data = _declare_r(data.decode()).encode()
            elif name == "[Content_Types].xml":
                data = _with_main_type(data.decode(), main_part, Path(out).suffix).encode()
            elif re.fullmatch(r"xl/ctrlProps/ctrlProp\d+\.xml", name):
                data = _without_empty_formulas(data.decode()).encode()
            elif name == "xl/vbaProject.bin":
                data = _as_written_by_a_writer(data)
            dst.writestr(info, data)
        for name, data in fixed.items():  # a drawing's rels part that was missing altogether
            dst.writestr(name, data)


def _sheets_by_name(parts: dict[str, bytes]) -> dict[str, str]:
    """Sheet name -> worksheet part, from workbook.xml and its rels."""
    workbook = parts["xl/workbook.xml"].decode()
    rels = _relationships(parts["xl/_rels/workbook.xml.rels"].decode(), "xl/workbook.xml")
    out = {}
    for tag in re.findall(r"<(?:\w+:)?sheet\b[^>]*>", workbook):
        name = re.search(r'\bname="([^"]*)"', tag).group(1)
        rid = re.search(r'\br:id="([^"]*)"|\bid="([^"]*)"', tag)
        out[_unescape(name)] = rels[rid.group(1) or rid.group(2)][1]
    return out


def _drawing_of(parts: dict[str, bytes], sheet_part: str) -> str | None:
    rels = parts.get(_rels_path(sheet_part))
    if rels is None:
        return None
    for kind, target in _relationships(rels.decode(), sheet_part).values():
        if kind.endswith("/drawing"):
            return target
    return None


def _relationships(xml: str, source: str) -> dict[str, tuple[str, str]]:
    """Id -> (Type, part name) of a rels part."""
    out = {}
    for tag in re.findall(r"<Relationship\b[^>]*>", xml):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', tag))
        target = attrs["Target"]
        part = (target.lstrip("/") if target.startswith("/")
                else _normalise(PurePosixPath(source).parent / target))
        out[attrs["Id"]] = (attrs["Type"], part)
    return out


def _normalise(path: PurePosixPath) -> str:
    parts: list[str] = []
    for piece in path.parts:
        if piece == "..":
            parts.pop()
        elif piece != ".":
            parts.append(piece)
    return "/".join(parts)


def _rels_path(part: str) -> str:
    p = PurePosixPath(part)
    return str(p.parent / "_rels" / f"{p.name}.rels")


def _children(xml: str) -> str:
    """Everything inside the root element of ``xml``."""
    body = re.sub(r"^\s*<\?xml[^>]*\?>\s*", "", xml)
    start = re.match(r"<[^>]*>", body).end()
    end = body.rstrip().rfind("</")
    return body[start:end]


def _merged_drawing(old_xml: str, new_xml: str) -> str:
    """The original drawing (charts) with the button's anchors appended.

    The anchors come from the button's drawing, whose root declares the prefixes they use
    (``xdr``, ``a``); the original's root may not (openpyxl with lxml declares ``a`` on each
    chart's ``a:graphic`` instead), so every declaration of the button drawing's root that the
    original lacks is added to the merged root, and the result is parsed to prove it.
    """
    body = re.sub(r"^\s*<\?xml[^>]*\?>\s*", "", old_xml)
    root = re.match(r"<[^>]*>", body).group(0)
    declared = _declarations(root)
    extra = ""
    for prefix, uri in {**_declarations(_root_tag(new_xml)), "xdr": _XDR, "r": _R}.items():
        if prefix not in declared:
            extra += f' xmlns:{prefix}="{uri}"' if prefix else f' xmlns="{uri}"'
        elif declared[prefix] != uri:
            raise RuntimeError(f"drawing prefix {prefix!r} means {declared[prefix]} and {uri}")
    opened = root[:-1] + extra + ">"
    close = body[body.rstrip().rfind("</"):]
    merged = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + opened
              + _children(old_xml) + _children(new_xml) + close)
    ElementTree.fromstring(merged.encode())  # raises on an undeclared prefix
    return merged


def _root_tag(xml: str) -> str:
    return re.match(r"<[^>]*>", re.sub(r"^\s*<\?xml[^>]*\?>\s*", "", xml)).group(0)


def _declarations(tag: str) -> dict[str, str]:
    """Prefix ('' for the default namespace) -> namespace URI declared on one start tag."""
    return {prefix: uri for prefix, uri in re.findall(r'\sxmlns(?::([\w.-]+))?="([^"]*)"', tag)}


#: The content type of the workbook part, by the package's extension (ECMA-376 Part 1, 12.3.23;
#: Excel refuses a .xlsm whose workbook part has the .xlsx type, and the other way round).
MAIN_CONTENT_TYPES = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    ".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    ".xltx": "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    ".xltm": "application/vnd.ms-excel.template.macroEnabled.main+xml",
}
_OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"


def _main_part(package_rels: str) -> str:
    """The workbook part named by the package's ``_rels/.rels``."""
    for kind, part in _relationships(package_rels, "").values():
        if kind == _OFFICE_DOCUMENT:
            return part
    raise RuntimeError("the package names no workbook part")


def _with_main_type(xml: str, main_part: str, suffix: str) -> str:
    """``[Content_Types].xml`` with the workbook part's content type for ``suffix``."""
    wanted = MAIN_CONTENT_TYPES[suffix.lower()]
    pattern = re.compile(r'<Override\b[^>]*\bPartName="/' + re.escape(main_part) + r'"[^>]*>')
    tag = pattern.search(xml)
    if tag is None:
        raise RuntimeError(f"[Content_Types].xml has no entry for /{main_part}")
    new_tag = re.sub(r'\bContentType="[^"]*"', f'ContentType="{wanted}"', tag.group(0))
    return xml[:tag.start()] + new_tag + xml[tag.end():]


def _without_empty_formulas(xml: str) -> str:
    """A control's properties without the empty ``fmlaLink``/``fmlaRange`` Excel never writes."""
    return re.sub(r'\s(?:fmlaLink|fmlaRange)=""', "", xml)


#: ``_VBA_PROJECT`` as MS-OVBA 2.3.4.1 asks a writer for it: Reserved1 0x61CC, Version 0xFFFF
#: ("MUST be 0xFFFF on write"), Reserved2 0x00, Reserved3 (as in the spec's example 3.1.1),
#: and no PerformanceCache ("MUST NOT be present on write").
WRITER_VBA_PROJECT = bytes.fromhex("cc61ffff000100")


def _as_written_by_a_writer(vba_project_bin: bytes) -> bytes:
    """The VBA project with no compiled state: version 0xFFFF, and every module as source only.

    With version 0xFFFF Office ignores every performance cache and compiles from the source
    (MS-OVBA 1.6); the modules that the blank project pyOpenVBA starts from still carry
    another build's compiled code (ThisWorkbook, Sheet1), so they are rewritten as source
    (MODULEOFFSET 0) too. (pyOpenVBA's own save zeroes the cache but keeps its length and the
    version of the build that made its blank project.)
    """
    from pyopenvba.cfb import CFB
    from pyopenvba.vba import (compress, parse_vba_project, serialize_dir_stream,
                               write_back_modules)

    cfb = CFB.from_bytes(vba_project_bin)
    project = parse_vba_project(cfb)
    for module in project.modules:
        if module.text_offset:
            module.source  # (loaded before the stream is replaced)
            module.dirty = True
    write_back_modules(cfb, project)
    if project.dir_structure_dirty:
        cfb.write_stream_in_storage("VBA", "dir", compress(serialize_dir_stream(project)))
    cfb.write_stream_in_storage("VBA", "_VBA_PROJECT", WRITER_VBA_PROJECT)
    return cfb.to_bytes()


def _merged_rels(old: bytes | None, new: bytes | None) -> bytes:
    """The union of two rels parts by Id; the same Id must mean the same target."""
    rows: dict[str, str] = {}
    for data in (old, new):
        if data is None:
            continue
        for tag in re.findall(r"<Relationship\b[^>]*>", data.decode()):
            rid = re.search(r'\bId="([^"]*)"', tag).group(1)
            tag = tag if tag.endswith("/>") else tag[:-1].rstrip() + "/>"
            same = rows.get(rid)
            if same is not None and _target(same) != _target(tag):
                raise RuntimeError(f"drawing relationship {rid} points two ways: {same} {tag}")
            rows.setdefault(rid, tag)
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{_REL}">' + "".join(rows.values()) + "</Relationships>").encode()


def _target(tag: str) -> str:
    return re.search(r'\bTarget="([^"]*)"', tag).group(1).lstrip("/").replace("../", "xl/")


def _declare_r(xml: str) -> str:
    """Declare the ``r`` prefix on the worksheet root when an element uses it undeclared."""
    root = re.search(r"<worksheet\b[^>]*>", xml)
    if root is None or "r:id=" not in xml or "xmlns:r=" in root.group(0):
        return xml  # (a declaration on the root as well as on an element is harmless)
    tag = root.group(0)
    return xml.replace(tag, tag[:-1] + f' xmlns:r="{_R}">', 1)


def _unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))


def write_vba_sources(folder) -> Path:
    """Write the module as ``folder/ClvRecompute.bas`` (the committed copy in workbook/vba)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{MODULE}.bas"
    target.write_text(files("clv_xl.template").joinpath("vba", f"{MODULE}.bas")
                      .read_text(encoding="utf-8"), encoding="utf-8")
    return target
