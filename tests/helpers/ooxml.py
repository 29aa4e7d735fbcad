"""What Excel checks when it opens a .xlsx or .xlsm, as far as a test can check it off Windows.

- ``schema_problems(package, schemas)``: every XML part against the ECMA-376 Transitional
  schemas (``../shared/ooxml-schemas``, see its README), after markup compatibility is resolved
  both ways: as Excel 2007 reads it (every ``mc:Fallback``) and as a current Excel reads it
  (the first ``mc:Choice``), ignorable namespaces removed. The one known false positive of those
  schemas, ``xml:space`` on ``<t>``, is allowed.
- ``package_problems(package)``: the rules the schemas do not state: the main part's content
  type matches the extension; every part parses with its namespaces declared (and every prefix
  named in ``mc:Ignorable``/``Requires`` too); every part has a content type and every content
  type entry a part; the content type of each related part is the one its relationship type
  calls for; every relationship target exists, ids are unique, and every ``r:`` attribute names
  a relationship of its part; sheet names, defined names and table names are valid and unique.
- ``button_macros(package)``: the macro each form control button runs (the VML ``FmlaMacro``
  and the sheet's ``controlPr``; both must agree).

Needs lxml for the schemas; the namespace checks use the standard library's parser.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree as StdTree

SML = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
XML_NS = "http://www.w3.org/XML/1998/namespace"

#: ECMA-376 Part 1 12.3.23 / [MS-XLSX] 2.1: the workbook part's content type by extension.
MAIN_TYPE = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    ".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
}
_OD = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_OXML = "application/vnd.openxmlformats-officedocument."
#: Relationship type -> the content type its target must have (ECMA-376 Part 1 clause 12,
#: Part 2 annex; [MS-XLSX] 2.1 for the Microsoft ones). None: the main part, by extension.
TYPE_OF_TARGET = {
    _OD + "officeDocument": None,
    "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties":
        "application/vnd.openxmlformats-package.core-properties+xml",
    _OD + "extended-properties": _OXML + "extended-properties+xml",
    _OD + "custom-properties": _OXML + "custom-properties+xml",
    _OD + "worksheet": _OXML + "spreadsheetml.worksheet+xml",
    _OD + "styles": _OXML + "spreadsheetml.styles+xml",
    _OD + "sharedStrings": _OXML + "spreadsheetml.sharedStrings+xml",
    _OD + "theme": _OXML + "theme+xml",
    _OD + "calcChain": _OXML + "spreadsheetml.calcChain+xml",
    _OD + "table": _OXML + "spreadsheetml.table+xml",
    _OD + "comments": _OXML + "spreadsheetml.comments+xml",
    _OD + "drawing": _OXML + "drawing+xml",
    _OD + "chart": _OXML + "drawingml.chart+xml",
    _OD + "vmlDrawing": _OXML + "vmlDrawing",
    _OD + "ctrlProp": "application/vnd.ms-excel.controlproperties+xml",
    _OD + "printerSettings": _OXML + "spreadsheetml.printerSettings",
    "http://schemas.microsoft.com/office/2006/relationships/vbaProject":
        "application/vnd.ms-office.vbaProject",
}
VBA_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"

#: Root namespace -> the ECMA-376 schema file that declares it.
SCHEMA_OF = {
    SML: "sml.xsd",
    "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing":
        "dml-spreadsheetDrawing.xsd",
    "http://schemas.openxmlformats.org/drawingml/2006/chart": "dml-chart.xsd",
    "http://schemas.openxmlformats.org/drawingml/2006/main": "dml-main.xsd",
    CT: "opc-contentTypes.xsd",
    PKG_REL: "opc-relationships.xsd",
    "http://schemas.openxmlformats.org/package/2006/metadata/core-properties":
        "opc-coreProperties.xsd",
    "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties":
        "shared-documentPropertiesExtended.xsd",
}
#: The false positive the schemas' README names, allowed exactly: Excel itself writes xml:space
#: on <t>. (The other place where Excel and sml.xsd disagree is renamed before validating: see
#: ``excel_markers``.)
ALLOWED = re.compile(
    r"^Element '\{%(sml)s\}t', attribute '\{%(xml)s\}space': The attribute '\{%(xml)s\}space' "
    r"is not allowed\.$" % {"sml": re.escape(SML), "xml": re.escape(XML_NS)})
XDR = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"


def excel_markers(root):
    """A form control's ``<anchor>`` holds ``<from>``/``<to>`` in the SpreadsheetML namespace as
    Excel 2010+ writes it (Microsoft's Open XML SDK, class ObjectAnchor: ``x:from``, ``x:to``),
    where sml.xsd says ``xdr:from``/``xdr:to``: renamed so that the schema checks their content."""
    for anchor in root.iter(f"{{{SML}}}anchor"):
        for child in anchor:
            if child.tag in (f"{{{SML}}}from", f"{{{SML}}}to"):
                child.tag = f"{{{XDR}}}" + child.tag.split("}")[1]
    return root


@dataclass
class Rel:
    id: str
    type: str
    target: str  # the part name, or the URL of an external target
    external: bool


class Package:
    """The parts of a zip package by name, with its content types and relationships."""

    def __init__(self, path) -> None:
        self.path = Path(path)
        with zipfile.ZipFile(self.path) as z:
            self.parts = {i.filename: z.read(i) for i in z.infolist() if not i.is_dir()}
        types = StdTree.fromstring(self.parts["[Content_Types].xml"])
        self.defaults = {e.get("Extension").lower(): e.get("ContentType")
                         for e in types.iter(f"{{{CT}}}Default")}
        self.overrides = {e.get("PartName"): e.get("ContentType")
                          for e in types.iter(f"{{{CT}}}Override")}

    def content_type(self, part: str) -> str | None:
        found = {k.lower(): v for k, v in self.overrides.items()}.get("/" + part.lower())
        name = PurePosixPath(part).name
        return found or (self.defaults.get(name.rsplit(".", 1)[1].lower()) if "." in name else None)

    def rels(self, source: str) -> list[Rel]:
        """The relationships of ``source`` ("" for the package)."""
        data = self.parts.get(rels_path(source))
        if data is None:
            return []
        out = []
        for e in StdTree.fromstring(data).iter(f"{{{PKG_REL}}}Relationship"):
            external = e.get("TargetMode") == "External"
            target = e.get("Target")
            if not external:
                target = (target.lstrip("/") if target.startswith("/")
                          else _normalise(PurePosixPath(source).parent / target))
            out.append(Rel(e.get("Id"), e.get("Type"), target, external))
        return out

    @property
    def main_part(self) -> str:
        (main,) = [r.target for r in self.rels("") if r.type == _OD + "officeDocument"]
        return main

    def xml_parts(self) -> list[str]:
        return [n for n in self.parts if n.endswith((".xml", ".rels", ".vml"))]


def rels_path(source: str) -> str:
    p = PurePosixPath(source)
    return str(p.parent / "_rels" / f"{p.name}.rels").lstrip("./") if source else "_rels/.rels"


def _normalise(path: PurePosixPath) -> str:
    parts: list[str] = []
    for piece in path.parts:
        if piece == "..":
            if parts:
                parts.pop()
        elif piece not in (".", "/"):
            parts.append(piece)
    return "/".join(parts)


# --------------------------------------------------------------------------- schemas

def _dublin_core_stubs() -> dict[str, str]:
    """The two Dublin Core schemas opc-coreProperties.xsd imports from the web, reduced to
    the declarations it refers to (any content), so that the rest of the part is checked."""
    xs = 'xmlns:xs="http://www.w3.org/2001/XMLSchema"'
    dc = " ".join(f'<xs:element name="{n}" type="xs:anyType"/>' for n in (
        "title creator subject description publisher contributor date type format identifier "
        "source language relation coverage rights").split())
    terms = " ".join(f'<xs:element name="{n}" type="xs:anyType"/>' for n in (
        "created modified").split())
    return {
        "dc.xsd": f'<xs:schema {xs} targetNamespace="http://purl.org/dc/elements/1.1/" '
                  f'elementFormDefault="qualified">{dc}</xs:schema>',
        "dcterms.xsd": f'<xs:schema {xs} targetNamespace="http://purl.org/dc/terms/" '
                       f'elementFormDefault="qualified">{terms}<xs:complexType name="W3CDTF">'
                       '<xs:simpleContent><xs:extension base="xs:dateTime"/></xs:simpleContent>'
                       "</xs:complexType></xs:schema>",
    }


@lru_cache(maxsize=None)
def schema(folder: str, name: str):
    from lxml import etree

    stubs = _dublin_core_stubs()

    class Offline(etree.Resolver):
        def resolve(self, url, pubid, context):
            if url and url.startswith("http://dublincore.org/"):
                return self.resolve_string(stubs[url.rsplit("/", 1)[1]], context)
            return None

    parser = etree.XMLParser()
    parser.resolvers.add(Offline())
    tree = etree.parse(str(Path(folder) / name), parser)
    for imported in tree.getroot().iter("{http://www.w3.org/2001/XMLSchema}import"):
        if imported.get("namespace") == XML_NS and imported.get("schemaLocation") is None:
            imported.set("schemaLocation", (Path(folder) / "xml.xsd").resolve().as_uri())
    return etree.XMLSchema(tree)


def resolve_markup_compatibility(root, take: str):
    """``root`` (lxml) with every mc:AlternateContent replaced by its first Choice
    (``take="choice"``) or its Fallback (``"fallback"``), and the ignorable namespaces removed."""
    from lxml import etree

    ignorable = set()
    for e in root.iter():
        value = e.get(f"{{{MC}}}Ignorable")
        if value:
            ignorable |= {e.nsmap.get(p) for p in value.split()}
            del e.attrib[f"{{{MC}}}Ignorable"]

    def walk(parent):
        for child in list(parent):
            if not isinstance(child.tag, str):
                continue
            if child.tag == f"{{{MC}}}AlternateContent":
                branch = next(iter(child.iterchildren(f"{{{MC}}}Choice")), None) \
                    if take == "choice" else child.find(f"{{{MC}}}Fallback")
                index = parent.index(child)
                parent.remove(child)
                for k, node in enumerate(list(branch) if branch is not None else []):
                    parent.insert(index + k, node)
                walk(parent)
                return
            if etree.QName(child).namespace in ignorable:
                parent.remove(child)
                continue
            for attr in list(child.attrib):
                if attr.startswith("{") and attr[1:].split("}")[0] in ignorable:
                    del child.attrib[attr]
            walk(child)

    walk(root)
    return root


def schema_problems(package: Package, schemas) -> tuple[list[str], list[str]]:
    """(problems, parts no ECMA-376 schema covers) of every XML part of ``package``."""
    from lxml import etree

    problems, uncovered = [], []
    for name in package.xml_parts():
        try:
            namespace = etree.QName(etree.fromstring(package.parts[name])).namespace
        except etree.XMLSyntaxError as error:
            problems.append(f"{name}: {error}")
            continue
        if namespace not in SCHEMA_OF:
            uncovered.append(name)
            continue
        checker = schema(str(schemas), SCHEMA_OF[namespace])
        for take in ("fallback", "choice"):
            root = excel_markers(resolve_markup_compatibility(
                etree.fromstring(package.parts[name]), take))
            if checker.validate(root):
                continue
            for error in checker.error_log:
                if not ALLOWED.match(error.message):
                    problems.append(f"{name} ({take}) line {error.line}: {error.message}")
    return sorted(set(problems)), uncovered


# --------------------------------------------------------------------------- Excel's own rules

def package_problems(package: Package) -> list[str]:
    return (_content_type_problems(package) + _namespace_problems(package)
            + _relationship_problems(package) + _name_problems(package)
            + _control_problems(package) + _cell_problems(package))


def _content_type_problems(package: Package) -> list[str]:
    out = []
    suffix = package.path.suffix.lower()
    main = package.main_part
    if package.content_type(main) != MAIN_TYPE[suffix]:
        out.append(f"/{main} is {package.content_type(main)!r}; a {suffix} needs "
                   f"{MAIN_TYPE[suffix]!r}")
    for name in package.parts:
        if name != "[Content_Types].xml" and package.content_type(name) is None:
            out.append(f"{name}: no content type")
    lowered = {n.lower() for n in package.parts}
    for part in package.overrides:
        if part.lstrip("/").lower() not in lowered:
            out.append(f"[Content_Types].xml: {part} is not in the package")
    has_vba = any(r.type == VBA_REL for r in package.rels(main))
    if has_vba != (suffix == ".xlsm"):
        out.append(f"a {suffix} {'with' if has_vba else 'without'} a VBA project")
    return out


def _namespace_problems(package: Package) -> list[str]:
    """Every part parses with its prefixes declared (the standard library's parser refuses an
    unbound prefix), and so do the prefixes named in mc:Ignorable and mc:Choice/@Requires."""
    out = []
    for name in package.xml_parts():
        try:
            StdTree.fromstring(package.parts[name])
        except StdTree.ParseError as error:
            out.append(f"{name}: {error}")
            continue
        if b"markup-compatibility" not in package.parts[name]:
            continue
        in_scope: list[tuple[str, str]] = []
        for event, item in StdTree.iterparse(io.BytesIO(package.parts[name]),
                                             events=("start-ns", "end-ns", "start")):
            if event == "start-ns":
                in_scope.append(item)
            elif event == "end-ns":
                in_scope.pop()
            else:
                prefixes = {prefix for prefix, _ in in_scope}
                named = (item.get(f"{{{MC}}}Ignorable") or "").split()
                if item.tag == f"{{{MC}}}Choice":
                    named += (item.get("Requires") or "").split()
                for prefix in named:
                    if prefix not in prefixes:
                        out.append(f"{name}: prefix {prefix!r} named by {item.tag} is not declared")
    return out


def _relationship_problems(package: Package) -> list[str]:
    out = []
    sources = [""] + [n for n in package.parts if not n.endswith(".rels")
                      and n != "[Content_Types].xml"]
    for name in package.parts:
        if name.endswith(".rels"):
            folder = PurePosixPath(name).parent
            source = str(folder.parent / PurePosixPath(name).name[:-5]).lstrip("./")
            if name != "_rels/.rels" and source not in package.parts:
                out.append(f"{name}: its part {source} is not in the package")
    for source in sources:
        rels = package.rels(source)
        ids = [r.id for r in rels]
        if len(ids) != len(set(ids)):
            out.append(f"{rels_path(source)}: an Id used twice")
        for rel in rels:
            if rel.external:
                continue
            if rel.target not in package.parts:
                out.append(f"{rels_path(source)}: {rel.id} -> {rel.target} is not in the package")
                continue
            if rel.type not in TYPE_OF_TARGET:
                out.append(f"{rels_path(source)}: {rel.id} has a relationship type this check "
                           f"does not know: {rel.type}")
                continue
            wanted = TYPE_OF_TARGET[rel.type] or MAIN_TYPE[package.path.suffix.lower()]
            if package.content_type(rel.target) != wanted:
                out.append(f"{rel.target}: content type {package.content_type(rel.target)!r}, "
                           f"its relationship calls for {wanted!r}")
        if source and source.endswith(".xml"):
            used = set(re.findall(rb'\br:(?:id|embed|link|pict)="([^"]*)"', package.parts[source]))
            for rid in sorted(u.decode() for u in used):
                if rid and rid not in ids:
                    out.append(f"{source}: r:id {rid} has no relationship")
    return out


_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_NAME = re.compile(r"[A-Za-z_\\][A-Za-z0-9_.\\]{0,254}")
_A1 = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d+)")
_R1C1 = re.compile(r"[Rr](\d*)[Cc]?(\d*)|[Cc](\d*)")


def valid_sheet_name(name: str) -> bool:
    """Excel: 1-31 characters, none of []:*?/\\, no apostrophe at either end, not History."""
    return (0 < len(name) <= 31 and not _SHEET_FORBIDDEN.search(name)
            and not name.startswith("'") and not name.endswith("'")
            and name.casefold() != "history")


def valid_defined_name(name: str) -> bool:
    """Excel: starts with a letter, _ or \\; letters, digits, _ . \\ after; at most 255
    characters; not a cell reference in A1 or R1C1 style."""
    if name.startswith("_xlnm."):
        return True
    if not _NAME.fullmatch(name):
        return False
    a1 = _A1.fullmatch(name)
    if a1 and _column(a1.group(1)) <= 16384 and 1 <= int(a1.group(2)) <= 1048576:
        return False
    return not _R1C1.fullmatch(name)


def _column(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def _name_problems(package: Package) -> list[str]:
    out = []
    workbook = StdTree.fromstring(package.parts[package.main_part])
    sheets = list(workbook.iter(f"{{{SML}}}sheet"))
    seen: dict[str, str] = {}
    for sheet in sheets:
        name = sheet.get("name")
        if not valid_sheet_name(name):
            out.append(f"sheet name {name!r} is not valid in Excel")
        if name.casefold() in seen:
            out.append(f"sheets {seen[name.casefold()]!r} and {name!r}: one name to Excel")
        seen[name.casefold()] = name
    ids = [s.get("sheetId") for s in sheets]
    if len(ids) != len(set(ids)):
        out.append("a sheetId used twice")
    scopes: dict[tuple[str, str], str] = {}
    for defined in workbook.iter(f"{{{SML}}}definedName"):
        name, scope = defined.get("name"), defined.get("localSheetId", "")
        if not valid_defined_name(name):
            out.append(f"defined name {name!r} is not valid in Excel")
        if scope and not 0 <= int(scope) < len(sheets):
            out.append(f"defined name {name!r}: localSheetId {scope} is no sheet")
        if (name.casefold(), scope) in scopes:
            out.append(f"defined name {name!r} twice in one scope")
        scopes[(name.casefold(), scope)] = name
    for part in package.parts:
        if package.content_type(part) == TYPE_OF_TARGET[_OD + "table"]:
            table = StdTree.fromstring(package.parts[part])
            for attr in ("name", "displayName"):
                name = table.get(attr)
                if not valid_defined_name(name):
                    out.append(f"{part}: table {attr} {name!r} is not valid in Excel")
            if (table.get("displayName").casefold(), "") in scopes:
                out.append(f"{part}: table {table.get('displayName')!r} is also a defined name")
            scopes[(table.get("displayName").casefold(), "")] = table.get("displayName")
    return out


def _control_problems(package: Package) -> list[str]:
    """Form control properties as Excel writes them: no empty formula attributes."""
    out = []
    for part in package.parts:
        if package.content_type(part) == TYPE_OF_TARGET[_OD + "ctrlProp"]:
            root = StdTree.fromstring(package.parts[part])
            for attr, value in root.attrib.items():
                if attr.startswith("fmla") and value == "":
                    out.append(f"{part}: empty {attr}")
    return out


def button_macros(package: Package) -> list[tuple[str, str]]:
    """(part, macro) of every form control button: VML FmlaMacro and the sheets' controlPr."""
    out = []
    for name, data in package.parts.items():
        if name.endswith(".vml"):
            for found in re.findall(rb"<x:FmlaMacro>([^<]*)</x:FmlaMacro>", data):
                out.append((name, _unescape(found.decode())))
        elif re.fullmatch(r"xl/worksheets/sheet\d+\.xml", name):
            for e in StdTree.fromstring(data).iter(f"{{{SML}}}controlPr"):
                if e.get("macro") is not None:
                    out.append((name, e.get("macro")))
    return out


def _unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))


#: Excel's specifications and limits: 32,767 characters in a cell, 8,192 in a formula.
CELL_TEXT_LIMIT, FORMULA_LIMIT = 32767, 8192
_ESCAPE = re.compile(r"_x[0-9A-Fa-f]{4}_")


def excel_length(text: str) -> int:
    """Characters as Excel counts them: UTF-16 units, an ``_xHHHH_`` escape being one."""
    return len(_ESCAPE.sub("_", text).encode("utf-16-le")) // 2


def _cell_problems(package: Package) -> list[str]:
    """No text of a cell (inline or shared string) or formula longer than Excel takes."""
    out = []
    for part in package.parts:
        kind = package.content_type(part)
        if kind == TYPE_OF_TARGET[_OD + "sharedStrings"]:
            items = StdTree.fromstring(package.parts[part]).iter(f"{{{SML}}}si")
        elif kind == TYPE_OF_TARGET[_OD + "worksheet"]:
            root = StdTree.fromstring(package.parts[part])
            items = root.iter(f"{{{SML}}}is")
            for f in root.iter(f"{{{SML}}}f"):
                if f.text and excel_length(f.text) > FORMULA_LIMIT:
                    out.append(f"{part}: a formula of {excel_length(f.text)} characters")
        else:
            continue
        for item in items:
            runs = [item] + item.findall(f"{{{SML}}}r")  # not the phonetic runs (rPh)
            text = "".join(t.text or "" for run in runs for t in run.findall(f"{{{SML}}}t"))
            if excel_length(text) > CELL_TEXT_LIMIT:
                out.append(f"{part}: a text of {excel_length(text)} characters")
    return out
