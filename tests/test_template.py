"""The template book's structure, without LibreOffice: committed file = fresh build, tables,
names, validation, protection, and formulas LibreOffice 7.4 can compute."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from clv_xl.demo import demo_data
from clv_xl.book.schema import CLIENTS, CONTACTS, INPUT_SHEETS, SESSIONS, SETTINGS
from clv_xl.template import SHEET_ORDER, build_template
from clv_xl.template.formulas import COMPUTED, DERIVED, client_formula
from clv_xl.template.inputs import CLIENT_SPARE_ROWS
from tests.helpers.workbook_compare import differences

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "workbook" / "clv_template.xlsx"
COMMITTED_DEMO = ROOT / "workbook" / "clv_demo.xlsx"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(path, workbook) of a fresh empty template."""
    path = build_template(tmp_path_factory.mktemp("tpl") / "clv_template.xlsx")
    return path, load_workbook(path)


@pytest.fixture(scope="module")
def demo_book(tmp_path_factory):
    path = build_template(tmp_path_factory.mktemp("demo") / "clv_demo.xlsx", demo_data())
    return path, load_workbook(path)


def test_committed_template_equals_a_fresh_build(built):
    assert COMMITTED.exists(), "run: python -m clv_xl.template workbook --demo"
    assert differences(COMMITTED, built[0]) == []


def test_committed_demo_equals_a_fresh_build(demo_book):
    assert COMMITTED_DEMO.exists()
    assert COMMITTED_DEMO.stat().st_size < 3_000_000  # the hidden Calc sheet: about 2.2 MB
    assert differences(COMMITTED_DEMO, demo_book[0]) == []


def test_the_comparison_sees_a_changed_formula_name_and_validation(built, tmp_path):
    wb = load_workbook(built[0])
    wb["Clients"]["I2"] = "=1"
    wb.defined_names["Margin"].attr_text = "Settings!$B$99"
    wb["Sessions"].data_validations.dataValidation[-1].formula1 = '"Completed,Booked"'
    changed = tmp_path / "changed.xlsx"
    wb.save(changed)
    found = "\n".join(differences(built[0], changed))
    assert "Clients!cells[I2]" in found
    assert "names" in found and "Settings!$B$99" in found
    assert "Sessions!validations" in found


def test_sheets_in_order_and_xlwings_conf_hidden(built):
    wb = built[1]
    assert tuple(wb.sheetnames) == SHEET_ORDER
    conf = wb["xlwings.conf"]
    assert conf.sheet_state == "hidden"
    assert (conf["A1"].value, conf["B1"].value) == ("UDF Modules", "clv_xl.excel.udfs")
    assert wb.active.title == "Start"


def test_every_setting_is_a_named_validated_input(built):
    wb = built[1]
    ws = wb["Settings"]
    for setting in SETTINGS:
        target = wb.defined_names[setting.defined_name].attr_text
        sheet, ref = target.split("!")
        assert sheet == "Settings"
        cell = ws[ref.replace("$", "")]
        assert cell.protection.locked is False, setting.key
        assert ws.cell(cell.row, 1).value == setting.label
        assert cell.comment is not None and setting.help in cell.comment.text
        expected = None if setting.key == "as_of" else setting.default
        assert cell.value == expected, setting.key
    for derived in DERIVED:
        assert derived.defined_name in wb.defined_names
    assert ws.protection.sheet and not ws.protection.password


def test_input_tables_follow_the_schema(built):
    wb = built[1]
    for sheet in INPUT_SHEETS:
        ws = wb[sheet.name]
        table = ws.tables[sheet.table]
        names = [c.name for c in table.tableColumns]
        assert names[: len(sheet.columns)] == sheet.headers
        assert [ws.cell(1, j).value for j in range(1, len(names) + 1)] == names
        assert ws.freeze_panes in ("A2", "C2")
        for j, column in enumerate(sheet.columns, start=1):
            cell = ws.cell(2, j)
            assert cell.protection.locked is False and cell.font.name == "Calibri"
    clients = wb["Clients"].tables["Clients"]
    assert clients.ref.endswith(str(1 + CLIENT_SPARE_ROWS))


def test_computed_columns_are_locked_and_table_calculated_columns(built):
    ws = built[1]["Clients"]
    table = ws.tables["Clients"]
    by_name = {c.name: c for c in table.tableColumns}
    assert ws.protection.sheet and not ws.protection.password
    for j, column in enumerate(COMPUTED, start=len(CLIENTS.columns) + 1):
        formula = client_formula(column)
        assert by_name[column.header].calculatedColumnFormula.attr_text == formula
        for r in (2, 1 + CLIENT_SPARE_ROWS):
            cell = ws.cell(r, j)
            assert cell.value == "=" + formula
            assert cell.protection.locked is True


def test_formulas_use_only_what_libreoffice_74_computes(demo_book):
    """No spilling or 365-only functions; MAXIFS/MINIFS/IFS with _xlfn.; no [@Col]."""
    forbidden = re.compile(r"\b(XLOOKUP|LET|FILTER|UNIQUE|SORT|SEQUENCE|LAMBDA|TEXTJOIN)\(")
    bare = re.compile(r"(?<!_xlfn\.)\b(MAXIFS|MINIFS|IFS)\(")
    seen = 0
    for ws in demo_book[1].worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    seen += 1
                    assert not forbidden.search(cell.value), cell.coordinate
                    assert not bare.search(cell.value), (ws.title, cell.coordinate)
                    assert "[@" not in cell.value, (ws.title, cell.coordinate)
    assert seen > 1000


def test_same_row_references_name_real_columns():
    headers = set(CLIENTS.headers) | {c.header for c in COMPUTED}
    for column in COMPUTED:
        for header in re.findall(r"\[#This Row\],\[([^\]]+)\]", client_formula(column)):
            assert header in headers, (column.key, header)


def test_validation_says_what_is_allowed(built):
    wb = built[1]
    for sheet in INPUT_SHEETS:
        rules = {str(v.sqref).split(":")[0]: v
                 for v in wb[sheet.name].data_validations.dataValidation}
        for j, column in enumerate(sheet.columns, start=1):
            rule = rules[f"{wb[sheet.name].cell(2, j).column_letter}2"]
            assert rule.showErrorMessage and rule.prompt == column.help
            if column.choices:
                assert rule.type == "list" and all(c in rule.formula1 for c in column.choices)
                assert all(c in rule.error for c in column.choices)
            if column.kind.value == "client":
                assert rule.type == "list" and rule.formula1 == "ClientIDs"
            if column.kind.value == "date":
                assert rule.type == "date" and "date" in rule.error
            if column.kind.value == "money":
                assert rule.formula1 == "0" and rule.operator == "greaterThanOrEqual"
    assert wb.defined_names["ClientIDs"].attr_text == "Clients[Client ID]"


def test_demo_book_holds_the_demo_inputs(demo_book):
    data = demo_data()
    wb = demo_book[1]
    assert wb["Settings"]["B5"].value.date() == data.as_of
    for sheet, frame in ((CLIENTS, data.clients), (SESSIONS, data.sessions),
                         (CONTACTS, data.contacts)):
        ws = wb[sheet.name]
        assert ws.cell(1 + len(frame), 1).value is not None
        ref = ws.tables[sheet.table].ref
        spare = CLIENT_SPARE_ROWS if sheet is CLIENTS else 0
        assert ref.endswith(str(1 + len(frame) + spare))
    assert wb["Clients"]["A2"].value == data.clients["client_id"].iloc[0]


def test_dashboard_has_four_charts_and_segments_named(demo_book):
    wb = demo_book[1]
    assert len(wb["Dashboard"]._charts) == 4  # segments, risk bands, months, tracking
    assert wb["Segments"]["A5"].value == "Family"
