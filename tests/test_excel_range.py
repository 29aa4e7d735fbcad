"""Every value Excel can hold reaches recompute as a computed row or a bad row with a reason,
never a crash: dates across Excel's whole range (1900-01-01 to 9999-12-31) and beyond it as
text, amounts near the float limit, error cells (#N/A, #REF!), an as-of typed as a number,
and text with carriage returns and Excel's own escapes.
"""

from __future__ import annotations

import datetime as dt
import shutil
import zipfile

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from clv_xl.batch import file_book
from clv_xl.cli import main
from clv_xl.demo import demo_data
from clv_xl.template import build_template

AFTER = "date after 2189-12-31: not supported"
BEFORE = "date before 1900-01-01: not supported"


@pytest.fixture(scope="module")
def master(tmp_path_factory):
    return build_template(tmp_path_factory.mktemp("master") / "book.xlsx",
                          demo_data(n_clients=40))


@pytest.fixture
def book(master, tmp_path):
    path = tmp_path / "book.xlsx"
    shutil.copy(master, path)
    return path


def _header_cell(ws, header):
    for row in ws.iter_rows(max_row=5):
        for cell in row:
            if cell.value == header:
                return cell
    raise KeyError(header)


def edit(path, changes, errors=(), general=()):
    """Set cells: ``changes`` {(sheet, header, data row from 1): value}, text kept as text;
    ``errors`` the same with an error code (#N/A) stored as an error cell; ``general``
    {(sheet, ref): value} set with the General number format. Returns {(sheet, header, n):
    the sheet row}."""
    wb = load_workbook(path)
    rows = {}
    for kind, cells in (("value", changes), ("error", errors)):
        for (sheet, header, n), value in dict(cells).items():
            head = _header_cell(wb[sheet], header)
            cell = wb[sheet].cell(row=head.row + n, column=head.column)
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "e" if kind == "error" else "s"
            rows[(sheet, header, n)] = head.row + n
    for (sheet, ref), value in dict(general).items():
        wb[sheet][ref].value = value
        wb[sheet][ref].number_format = "General"
    wb.save(path)
    return rows


def issues(path) -> dict:
    rows = list(load_workbook(path)["Issues"].iter_rows(values_only=True))
    return {(r[0], r[1], r[2]): (r[3], r[4], r[5]) for r in rows[1:] if r[0] is not None}


def as_of_cell(path) -> str:
    wb = load_workbook(path)
    sheet, ref = wb.defined_names["AsOf"].attr_text.replace("$", "").split("!")
    return sheet, ref


CASES = {
    "session on Excel's last day": ("Sessions", "Date", dt.datetime(9999, 12, 31), AFTER),
    "session in 2300": ("Sessions", "Date", dt.datetime(2300, 1, 1), AFTER),
    "session in 2200": ("Sessions", "Date", dt.datetime(2200, 1, 1), AFTER),
    "first contact in 9999": ("Clients", "First contact", dt.datetime(9999, 12, 31), AFTER),
    "contact in 9999": ("Contacts", "Date", dt.datetime(9999, 12, 31), AFTER),
    "session as text 0001-01-01": ("Sessions", "Date", "0001-01-01", BEFORE),
    "first contact as text 0001-01-01": ("Clients", "First contact", "0001-01-01", BEFORE),
    "session as text 9999-12-31": ("Sessions", "Date", "9999-12-31", AFTER),
    "session as text 1899-12-31": ("Sessions", "Date", "1899-12-31", BEFORE),
    "session before 1900": ("Sessions", "Date", dt.datetime(1899, 12, 1), BEFORE),
    "amount of 1e308": ("Sessions", "Amount", 1e308, "over 1,000,000,000,000,000"),
    "acquisition cost of 1e308": ("Clients", "Acquisition cost", 1e308,
                                  "over 1,000,000,000,000,000"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_out_of_range_value_is_a_bad_row_with_its_reason(case, book, capsys):
    sheet, header, value, reason = CASES[case]
    where = edit(book, {(sheet, header, 3): value, (sheet, header, 5): value})
    assert main(["recompute", str(book)]) == 0, capsys.readouterr().err
    found = issues(book)
    for n in (3, 5):
        key = (sheet, where[(sheet, header, n)], header)
        assert key in found, sorted(found)[:5]
        assert reason in found[key][1] and found[key][2] == "error", found[key]


def test_the_edges_of_the_supported_range_compute(book, capsys):
    """1900-01-01 and 2189-12-31 themselves are fine, with an as-of on the last day (the
    longest spans the engine then computes: 290 years)."""
    sheet, ref = as_of_cell(book)
    edit(book, {("Sessions", "Date", 3): dt.datetime(1900, 1, 1),
                ("Clients", "First contact", 1): dt.datetime(1900, 1, 1),
                ("Contacts", "Date", 2): dt.datetime(2189, 12, 30)},
         general={(sheet, ref): None})
    assert main(["recompute", str(book), "--as-of", "2189-12-31"]) == 0
    assert "(as of 2189-12-31)" in capsys.readouterr().out
    assert not any(AFTER in p or BEFORE in p for _, p, _ in issues(book).values())


@pytest.mark.parametrize("value, message", [
    (dt.datetime(9999, 12, 31), "As-of date: " + AFTER),
    ("0001-01-01", "As-of date: " + BEFORE),
    (3_000_000, "As-of date: the number 3e+06 is not a date"),
])
def test_an_as_of_outside_the_range_is_one_line(book, capsys, value, message):
    sheet, ref = as_of_cell(book)
    edit(book, {}, general={(sheet, ref): value})
    before = book.read_bytes()
    assert main(["recompute", str(book)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"clv-xl: error: {message}")
    assert book.read_bytes() == before and not book.with_name("book.bak.xlsx").exists()


def test_as_of_option_outside_the_range_is_one_line(book, capsys):
    assert main(["recompute", str(book), "--as-of", "9999-12-31"]) == 1
    assert capsys.readouterr().err.strip() == f"clv-xl: error: --as-of 9999-12-31: {AFTER}"


def test_an_as_of_typed_as_a_number_is_an_excel_serial(book, capsys):
    """A date cell formatted as General shows its serial number: DATE(2025,1,1) is 45658 in
    Excel's 1900 date system, so 46000 is 2025-12-09 (not 1970)."""
    sheet, ref = as_of_cell(book)
    edit(book, {}, general={(sheet, ref): 46000})
    assert main(["recompute", str(book)]) == 0
    assert "(as of 2025-12-09)" in capsys.readouterr().out


def test_error_cells_are_reported_as_errors_not_blanks(book):
    where = edit(book, {}, errors={("Sessions", "Amount", 2): "#N/A",
                                   ("Sessions", "Date", 4): "#REF!",
                                   ("Clients", "Notes", 1): "#DIV/0!"})
    assert main(["recompute", str(book)]) == 0
    found = issues(book)
    amount = found[("Sessions", where[("Sessions", "Amount", 2)], "Amount")]
    assert amount == ("#N/A", "the cell shows the error #N/A: fix it in Excel", "error")
    date = found[("Sessions", where[("Sessions", "Date", 4)], "Date")]
    assert date[1].startswith("the cell shows the error #REF!") and date[2] == "error"
    note = found[("Clients", where[("Clients", "Notes", 1)], "Notes")]
    assert note == ("#DIV/0!", "the cell shows the error #DIV/0! (read as blank)", "warning")


def test_a_carriage_return_and_excel_escapes_survive_the_round_trip(book):
    """Excel stores a carriage return in text as _x000D_ and a literal "_x0041_" as
    "_x005F_x0041_"; calamine decodes both as Excel does. The name read from Clients is
    written to Forecast and must read back the same."""
    name = "Ann\rLee _x0041_ \r\nEnd"
    member = "xl/worksheets/sheet3.xml"  # Clients
    with zipfile.ZipFile(book) as archive:
        parts = {i.filename: archive.read(i) for i in archive.infolist()}
        assert file_book.sheet_parts(archive)["Clients"] == member
    xml = parts[member].decode()
    first = xml.index("<t>", xml.index('r="B2"')) + 3
    end = xml.index("</t>", first)
    stored = "Ann_x000D_Lee _x005F_x0041_ _x000D_\nEnd"
    parts[member] = (xml[:first] + stored + xml[end:]).encode()
    with zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as archive:
        for part, data in parts.items():
            archive.writestr(part, data)
    assert CalamineWorkbook.from_path(str(book)).get_sheet_by_name("Clients").to_python()[1][1] \
        == name
    assert main(["recompute", str(book)]) == 0
    forecast = CalamineWorkbook.from_path(str(book)).get_sheet_by_name("Forecast").to_python()
    names = [row[1] for row in forecast]
    assert name in names
    assert load_workbook(book)  # still a sound book for openpyxl


def test_error_cells_are_found_whatever_the_chunks():
    """The package check feeds each worksheet to the scanner in the chunks it unpacks: a
    cell cut between two chunks must still be found (chunks of 1 to 64 bytes here)."""
    from clv_xl.book.cell_errors import ErrorScanner

    xml = (b'<worksheet><sheetData><row r="1"><c r="A1" t="e"><v>#N/A</v></c>'
           b'<c r="B1"><v>3</v></c><c r="AB1" s="2" t="e"><f>1/0</f><v>#DIV/0!</v></c></row>'
           b'<row r="12"><c r="C12" t="inlineStr"><is><t>#REF!</t></is></c>'
           b'<c t="e" r="D12"><v>#REF!</v></c></row></sheetData></worksheet>')
    want = {(0, 0): "#N/A", (0, 27): "#DIV/0!", (11, 3): "#REF!"}
    for size in (1, 2, 5, 13, 64, len(xml)):
        scanner = ErrorScanner()
        for at in range(0, len(xml), size):
            scanner.feed(xml[at:at + size])
        assert scanner.finish() == want, size
