"""The macro-enabled template: the .xlsx plus a VBA module and a Recompute button (pyOpenVBA).

``build_macro_template(xlsx_path, xlsm_path)`` copies the book, gives it a VBA project holding
the module in ``vba/RecomputeCLV.bas`` (shipped in this package; ``workbook/vba/`` holds the
committed copy, checked equal by a test), and puts a form-control button labelled "Recompute",
bound to the macro ``RecomputeCLV``, on the Start and Dashboard sheets. docs/button.md explains
the button and why the macro calls the xlwings add-in by name.

pyOpenVBA (6.5) rewrites every sheet when it adds a button, and two of its slips are undone
here: a worksheet that uses ``r:id`` without declaring the ``r`` prefix (Start, which had no
drawing before), and a sheet's existing drawing replaced by the button's, which drops the
Dashboard charts. ``_repair`` puts the original anchors back next to the button.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from importlib.resources import files
from pathlib import Path, PurePosixPath

MODULE = "RecomputeCLV"
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
    """The module's source as shipped: ``clv_xl/template/vba/RecomputeCLV.bas``, CRLF lines."""
    text = files("clv_xl.template").joinpath("vba", f"{MODULE}.bas").read_text(encoding="utf-8")
    return "\r\n".join(text.replace("\r\n", "\n").split("\n"))


def recompute_command() -> str:
    """The Python command the macro sends to xlwings' RunPython (read from the module)."""
    found = re.search(r'RECOMPUTE_COMMAND As String = "([^"]*)"', vba_source())
    assert found, "RecomputeCLV.bas lost its RECOMPUTE_COMMAND"
    return found.group(1)


def build_macro_template(xlsx_path, xlsm_path) -> Path:
    """Write ``xlsm_path``: the book at ``xlsx_path`` with the VBA module and the buttons."""
    from pyopenvba import ExcelFile
    from pyopenvba.apps.excel import ExcelApplication

    xlsx_path, xlsm_path = Path(xlsx_path), Path(xlsm_path)
    with tempfile.TemporaryDirectory(prefix="clv-xlsm-") as tmp:
        staged, with_vba, with_buttons = (Path(tmp) / n for n in ("a.xlsm", "b.xlsm", "c.xlsm"))
        shutil.copyfile(xlsx_path, staged)
        with ExcelFile(staged) as book:
            book.add_vba_project().add_module(MODULE, vba_source())
            book.save(with_vba)
        app = ExcelApplication.open(with_vba)
        for sheet, box in _button_boxes(xlsx_path).items():
            left, top, width, height = box
            app.sheet(sheet).add_button(name=BUTTON_TEXT, left=left, top=top, width=width,
                                        height=height, text=BUTTON_TEXT, macro=MACRO)
        app.save(with_buttons)
        xlsm_path.parent.mkdir(parents=True, exist_ok=True)
        _repair(xlsx_path, with_buttons, xlsm_path)
    return xlsm_path


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
            fixed[new_drawing] = _merged_drawing(old_xml, _children(new_xml)).encode()
            fixed[_rels_path(new_drawing)] = _merged_rels(
                before.get(_rels_path(old_drawing)), after.get(_rels_path(new_drawing), (None, None))[1])
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, (info, data) in after.items():
            data = fixed.pop(name, data)
            if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", name):
                data = _declare_r(data.decode()).encode()
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


def _merged_drawing(old_xml: str, new_children: str) -> str:
    """The original drawing (charts) with the button's anchors appended."""
    body = re.sub(r"^\s*<\?xml[^>]*\?>\s*", "", old_xml)
    root = re.match(r"<[^>]*>", body).group(0)
    extra = "".join(f' xmlns:{p}="{u}"' for p, u in (("xdr", _XDR), ("r", _R))
                    if f"xmlns:{p}=" not in root)
    opened = root[:-1] + extra + ">"
    close = body[body.rstrip().rfind("</"):]
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + opened
            + _children(old_xml) + new_children + close)


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
    """Write the module as ``folder/RecomputeCLV.bas`` (the committed copy in workbook/vba)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{MODULE}.bas"
    target.write_text(files("clv_xl.template").joinpath("vba", f"{MODULE}.bas")
                      .read_text(encoding="utf-8"), encoding="utf-8")
    return target
