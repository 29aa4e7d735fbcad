"""Excel conformance: every book the project writes, checked as Excel would check it on open.

The books (tests/helpers/books.py: the template and the demo book as .xlsx and .xlsm, a book
with hostile text, and the three filled books recomputed by ``clv-xl recompute``) are built
twice, in subprocesses: with openpyxl writing through lxml (``OPENPYXL_LXML=True``) and through
the standard library (``False``), the two ways openpyxl writes depending on whether lxml is
installed. The committed books in workbook/ are checked as well. For each book:

- every XML part validates against the ECMA-376 Transitional schemas in
  ``../shared/ooxml-schemas`` (skipped, with the reason, where that folder is missing);
- Excel's own rules (tests/helpers/ooxml.py): main content type by extension, namespaces,
  relationships and content types, sheet/defined/table names, control properties, cell lengths;
- for a .xlsm, the VBA project (tests/helpers/vba_rules.py): identifiers, case-insensitive
  duplicates, reserved words, no module named like a procedure, every button's macro resolves;
  and ``_VBA_PROJECT`` as MS-OVBA 2.3.4.1 asks of a writer.

The module xlwings' "Import Functions" generates for clv_xl.excel.udfs passes the same VBA rules
(its real generator over stub pywin32 modules, as in tests/test_udf_registration.py). The last
tests show each check failing on the defect it exists for. docs/excel-compatibility.md says what
these prove and what only Excel can tell.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.helpers import ooxml, vba_rules
from tests.test_udf_registration import FakeWorkbook, windows_udfs  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT.parent / "shared" / "ooxml-schemas"
try:
    from lxml import etree  # noqa: F401
    HAS_LXML = True
except ImportError:
    HAS_LXML = False
MODES = {"lxml": "True", "stdlib": "False"}
BOOKS = ("template.xlsx", "template.xlsm", "demo.xlsx", "demo.xlsm", "hostile.xlsx", "imported.xlsm",
         "recomputed-demo.xlsx", "recomputed-demo.xlsm", "recomputed-hostile.xlsx")
COMMITTED = ("clv_template.xlsx", "clv_template.xlsm", "clv_demo.xlsx")
#: Parts no ECMA-376 schema covers, by kind: legacy VML (comments, button shapes) and the
#: Microsoft extension for form control properties; each has checks of its own instead.
UNCOVERED = {"application/vnd.openxmlformats-officedocument.vmlDrawing",
             "application/vnd.ms-excel.controlproperties+xml"}

needs_lxml = pytest.mark.skipif(not HAS_LXML, reason="lxml is a test dependency: pip install .[test]")
needs_schemas = pytest.mark.skipif(
    not (SCHEMAS / "sml.xsd").exists(),
    reason=f"ECMA-376 schemas not found at {SCHEMAS} (../shared/ooxml-schemas beside the repo)")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, dict[str, Path]]:
    """mode -> book name -> path, each mode built in its own subprocess."""
    out = {}
    for mode, flag in MODES.items():
        if mode == "lxml" and not HAS_LXML:
            continue
        folder = tmp_path_factory.mktemp(f"books-{mode}")
        env = {**os.environ, "OPENPYXL_LXML": flag}
        run = subprocess.run([sys.executable, "-m", "tests.helpers.books", str(folder)],
                             cwd=ROOT, env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr[-3000:]
        report = json.loads(run.stdout.strip().splitlines()[-1])
        assert report["lxml"] is (mode == "lxml"), "openpyxl did not write the way asked"
        out[mode] = {name: Path(path) for name, path in report["books"].items()}
    return out


CASES = ([pytest.param((mode, book), id=f"{mode}-{book}",
                       marks=[needs_lxml] if mode == "lxml" else [])
          for mode in MODES for book in BOOKS]
         + [pytest.param(("committed", book), id=f"committed-{book}") for book in COMMITTED])


@pytest.fixture
def package(request, built):
    mode, book = request.param
    path = ROOT / "workbook" / book if mode == "committed" else built.get(mode, {}).get(book)
    if path is None or not path.exists():
        pytest.skip(f"{mode}: {book} not built")
    return ooxml.Package(path)


def _cases(suffix=None):
    return [c for c in CASES if suffix is None or c.values[0][1].endswith(suffix)]


@needs_lxml
@needs_schemas
@pytest.mark.parametrize("package", _cases(), indirect=True)
def test_every_xml_part_validates_against_ecma_376(package):
    problems, uncovered = ooxml.schema_problems(package, SCHEMAS)
    assert problems == []
    assert {package.content_type(p) for p in uncovered} <= UNCOVERED, uncovered


@pytest.mark.parametrize("package", _cases(), indirect=True)
def test_excel_package_rules(package):
    assert ooxml.package_problems(package) == []


def project(path: Path) -> dict[str, tuple[str, bool]]:
    from pyopenvba import ExcelFile
    from pyopenvba.vba import VBAModuleKind

    with ExcelFile(path) as book:
        return {m.name: (m.source, m.kind == VBAModuleKind.standard)
                for m in book.vba_project().modules}


@pytest.mark.parametrize("package", _cases(".xlsm"), indirect=True)
def test_vba_project_compiles_and_every_button_runs_its_macro(package):
    modules = project(package.path)
    assert vba_rules.problems(modules) == []
    macros = ooxml.button_macros(package)
    assert len(macros) == 4  # Start and Dashboard: the VML shape and the sheet's control each
    assert len({macro for _, macro in macros}) == 1, macros
    for part, macro in macros:
        assert vba_rules.macro_problems(macro, modules) == [], part


@pytest.mark.parametrize("package", _cases(".xlsm"), indirect=True)
def test_vba_project_is_written_as_ms_ovba_asks_a_writer(package):
    """MS-OVBA 2.3.4.1: _VBA_PROJECT Version 0xFFFF, no PerformanceCache; and no module keeps
    compiled code (MODULEOFFSET 0), so Office compiles every module from its source."""
    from pyopenvba.cfb import CFB
    from pyopenvba.vba import parse_vba_project

    cfb = CFB.from_bytes(package.parts["xl/vbaProject.bin"])
    stream = bytes(cfb.get_stream_in_storage("VBA", "_VBA_PROJECT"))
    assert stream[:5] == bytes.fromhex("cc61ffff00") and len(stream) == 7
    assert [m.name for m in parse_vba_project(cfb).modules if m.text_offset] == []


def _generated_module(xlwings_udfs, module) -> str:
    """The module "Import Functions" writes: xlwings' header, then the generated wrappers."""
    out = io.StringIO()
    out.write('Attribute VB_Name = "xlwings_udfs"\n')
    out.write("'Autogenerated code by xlwings - changes will be lost with next import!\n")
    out.write('#Const App = "Microsoft Excel" \'Adjust when using outside of Excel\n')
    xlwings_udfs.generate_vba_wrapper("clv_xl.excel.udfs", module, out, FakeWorkbook())
    return out.getvalue()


def test_the_imported_formulas_compile_beside_the_button(windows_udfs, tmp_path):  # noqa: F811
    xlwings_udfs, module = windows_udfs
    generated = _generated_module(xlwings_udfs, module)
    procedures, _ = vba_rules.procedures("xlwings_udfs", generated)
    assert len(procedures) == len([n for n in vars(module) if n.isupper()
                                   and callable(getattr(module, n))
                                   and hasattr(getattr(module, n), "__xlfunc__")])
    assert vba_rules.problems({"xlwings_udfs": (generated, True)}) == []
    from clv_xl.template import build_template
    from clv_xl.template.macro import build_macro_template

    xlsm = build_macro_template(build_template(tmp_path / "t.xlsx"), tmp_path / "t.xlsm")
    together = {**project(xlsm), "xlwings_udfs": (generated, True)}
    assert vba_rules.problems(together) == []


# --------------------------------------------------------------------------- the checks can fail

def test_vba_rules_catch_what_excel_refuses():
    broken = ('Attribute VB_Name = "RecomputeCLV"\r\n'
              "Function EXPECTED_PURCHASES(t, frequency, recency, T)\r\n"
              "    Dim Date\r\nEnd Function\r\n"
              "Public Sub RecomputeCLV()\r\nEnd Sub\r\n")
    problems = vba_rules.problems({"RecomputeCLV": (broken, True)})
    assert any("'t' and 'T'" in p for p in problems)
    assert any("'Date' is a VBA reserved word" in p for p in problems)
    assert any("named like the procedure" in p for p in problems)
    assert vba_rules.macro_problems("[0]!RecomputeCLV", {"RecomputeCLV": (broken, True)})
    assert vba_rules.macro_problems("[0]!Missing", {"M": (broken, True)})


def _patched(path: Path, tmp_path: Path, part: str, edit) -> ooxml.Package:
    target = tmp_path / path.name
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == part:
                data = edit(data)
                if data is None:
                    continue
            dst.writestr(info, data)
    return ooxml.Package(target)


@pytest.fixture(scope="module")
def fresh_xlsm(built):
    return built["stdlib"]["template.xlsm"]


def test_package_rules_catch_each_defect(fresh_xlsm, tmp_path):
    cases = {
        "[Content_Types].xml": lambda d: d.replace(
            b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
            b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"),
        "xl/drawings/drawing1.xml": lambda d: d.replace(b' xmlns:a="', b' xmlns:aa="'),
        "xl/ctrlProps/ctrlProp1.xml": lambda d: d.replace(b"/>", b' fmlaLink=""/>'),
        "xl/worksheets/sheet1.xml": lambda d: d.replace(b" xmlns:x14=", b" xmlns:x15="),
        "xl/charts/chart1.xml": lambda d: None,
        "xl/workbook.xml": lambda d: d.replace(b'name="Issues"', b'name="Iss:ues"'),
    }
    for part, edit in cases.items():
        assert ooxml.package_problems(_patched(fresh_xlsm, tmp_path, part, edit)) != [], part


@needs_lxml
@needs_schemas
def test_schema_check_catches_an_invalid_part(fresh_xlsm, tmp_path):
    package = _patched(fresh_xlsm, tmp_path, "xl/workbook.xml",
                       lambda d: d.replace(b"<sheets>", b"<sheets><bogus/>"))
    problems, _ = ooxml.schema_problems(package, SCHEMAS)
    assert any("bogus" in p for p in problems)


def test_names_excel_refuses():
    assert not ooxml.valid_sheet_name("History") and not ooxml.valid_sheet_name("a" * 32)
    assert not ooxml.valid_sheet_name("'quoted'") and ooxml.valid_sheet_name("Clients")
    for bad in ("A1", "XFD1048576", "R1C1", "R", "c", "1st", "two words"):
        assert not ooxml.valid_defined_name(bad), bad
    for good in ("XFE1", "Settings_margin", "_xlnm.Print_Area", "Clients.table"):
        assert ooxml.valid_defined_name(good), good
    assert ooxml.excel_length("😀_x0007_") == 3
