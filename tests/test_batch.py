"""The batch run through its headless door: clv-xl recompute BOOK.xlsx|.xlsm.

Each test recomputes a copy of a book built by the template builder, then reads the result
back with openpyxl (and the raw zip), independently of the code that wrote it.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from clv_xl.batch import file_book
from clv_xl.batch.file_book import FileBook
from clv_xl.batch.pipeline import recompute, rows_to_frame
from clv_xl.book.io import BookError
from clv_xl.book.layout import FORECAST_COLUMNS, FORECAST_FIGURES
from clv_xl.cli import main
from clv_xl.demo import demo_data
from clv_xl.engine.forecast import forecast
from clv_xl.engine.metrics import client_figures
from clv_xl.book.schema import SESSIONS
from clv_xl.book.settings import Settings
from clv_xl.template import build_template
from clv_xl.template.pages import FORECAST_FIGURE_ROW, FORECAST_HEADER_ROW, FORECAST_HEADERS
from clv_xl.book.validate import SchemaError

INPUTS = ("Start", "Settings", "Clients", "Sessions", "Contacts", "Segments", "Dashboard")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo():
    return demo_data()


@pytest.fixture(scope="module")
def demo_master(demo, tmp_path_factory):
    return build_template(tmp_path_factory.mktemp("master") / "clv_demo.xlsx", demo)


@pytest.fixture
def book(demo_master, tmp_path):
    path = tmp_path / "book.xlsx"
    shutil.copy(demo_master, path)
    return path


def forecast_rows(path) -> pd.DataFrame:
    ws = load_workbook(path)["Forecast"]
    rows = list(ws.iter_rows(min_row=FORECAST_HEADER_ROW, values_only=True))
    header = list(rows[0][:len(FORECAST_HEADERS)])
    assert header == list(FORECAST_HEADERS)
    body = [r[:len(header)] for r in rows[1:] if any(v is not None for v in r)]
    return pd.DataFrame(body, columns=header)


def issues_rows(path) -> pd.DataFrame:
    ws = load_workbook(path)["Issues"]
    rows = list(ws.iter_rows(values_only=True))
    body = [r[:6] for r in rows[1:] if any(v is not None for v in r)]
    return pd.DataFrame(body, columns=list(rows[0][:6]))


def cells(path, sheets=INPUTS) -> dict:
    """Every cell's value, type and style of the given sheets."""
    wb = load_workbook(path)
    return {(name, c.coordinate): (c.value, c.data_type, c.style_id)
            for name in sheets for row in wb[name].iter_rows() for c in row}


def members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def sheet_member(path, sheet: str) -> str:
    with zipfile.ZipFile(path) as archive:
        return file_book.sheet_parts(archive)[sheet]


def edit(path, changes: dict) -> None:
    """Set cells {(sheet, "D5"): value}; a str is stored as text, never a formula."""
    wb = load_workbook(path)
    for (sheet, ref), value in changes.items():
        cell = wb[sheet][ref]
        cell.value = value
        if isinstance(value, str):
            cell.data_type = "s"
    wb.save(path)


# --- the figures ------------------------------------------------------------------------------

def test_recompute_of_the_demo_equals_the_engine(book, demo):
    outputs = recompute(FileBook(book))
    got = forecast_rows(book).set_index("Client ID")
    settings = Settings(as_of=demo.as_of)
    want, _ = client_figures(demo.clients, demo.sessions, demo.contacts, settings)
    assert list(got.index) == list(want.index)
    for header, key in (("Revenue", "revenue"), ("CLV", "clv"), ("TLV", "tlv"),
                        ("Churn risk", "churn_risk")):
        np.testing.assert_allclose(got[header].astype(float), want[key], rtol=1e-12, atol=1e-9,
                                   err_msg=header)
    for header, key in (("Segment", "segment"), ("Stage", "lifecycle_stage"),
                        ("Risk band", "risk_band"), ("Main reason", "main_reason")):
        assert list(got[header]) == list(want[key]), header
    assert list(got["Name"]) == list(demo.clients["name"])
    model = forecast(demo.clients["client_id"], demo.sessions, demo.as_of, settings).table
    for header, key in (("P(alive)", "p_alive"), ("Model CLV (12 months)", "model_clv_12m")):
        np.testing.assert_allclose(got[header].astype(float), model[key].to_numpy(float),
                                   rtol=1e-12, err_msg=header)
    ws = load_workbook(book)["Forecast"]
    assert ws["A2"].value == outputs.status
    assert outputs.status.startswith("Last recompute ")
    assert "300 clients, 753 sessions, 2,451 contacts read; 0 rows with issues." in outputs.status
    assert ws.cell(FORECAST_FIGURE_ROW, 2).value == 300
    assert issues_rows(book).empty


def test_the_forecast_text_columns_are_wide_enough_for_the_demo(book):
    """Every name, segment, stage, band and reason of the recomputed demo fits its column
    (widths in characters of the default font; a character to spare)."""
    recompute(FileBook(book))
    got = forecast_rows(book)
    ws = load_workbook(book)["Forecast"]
    for j, (header, number_format) in enumerate(FORECAST_COLUMNS, start=1):
        if number_format is not None:
            continue
        longest = got[header].dropna().astype(str).str.len().max()
        width = ws.column_dimensions[get_column_letter(j)].width
        assert width >= longest + 1, (header, width, longest)
    assert got["Name"].str.len().max() >= 20  # the demo's names are not all short


def test_rows_to_frame_finds_the_header_and_drops_trailing_blanks():
    rows = [[None, None], ["Date", " Client ID "], [1, "a"], [None, None], [2, "b"],
            [None, None], [None, None]]
    frame, first = rows_to_frame(rows, "Sessions")
    assert first == 3 and list(frame.columns) == ["Date", "Client ID"]
    assert frame.values.tolist() == [[1, "a"], [None, None], [2, "b"]]
    with pytest.raises(SchemaError, match="'Contacts' is empty"):
        rows_to_frame([[None]], "Contacts")


# --- bad input -------------------------------------------------------------------------------

def _where(path, sheet: str, header: str, row: int) -> str:
    ws = load_workbook(path, read_only=True)[sheet]
    heads = [c.value for c in next(ws.iter_rows(min_row=1, max_row=1))]
    return f"{chr(ord('A') + heads.index(header))}{row}"


def test_every_bad_row_is_listed_and_the_good_rows_are_computed(book, demo):
    at = lambda sheet, header, row: (sheet, _where(book, sheet, header, row))  # noqa: E731
    future = dt.datetime(2027, 1, 5)
    blank_row = {at("Sessions", h, 12): None for h in SESSIONS.headers}
    edit(book, {
        at("Sessions", "Amount", 3): "ninety",  # text in an amount
        at("Sessions", "Date", 4): "last tuesday",  # text in a date
        at("Sessions", "Amount", 5): -40.0,  # negative amount
        at("Sessions", "Client ID", 6): "C9999",  # unknown client
        at("Sessions", "Status", 7): "Done",  # unknown status
        at("Sessions", "Date", 8): future,  # completed after the as-of date
        at("Clients", "Client ID", 4): "C0001",  # duplicate id (row 2 has C0001)
        **blank_row,  # an empty row inside the table
        at("Contacts", "Direction", 9): "Sideways",
    })
    outputs = recompute(FileBook(book))
    issues = issues_rows(book)
    found = {(s, r, c): p for s, r, c, p in
             issues[["Sheet", "Row", "Column", "Problem"]].itertuples(index=False)}
    expected = {
        ("Sessions", 3, "Amount"): "text 'ninety' where a number belongs",
        ("Sessions", 4, "Date"): "'last tuesday' is not a date",
        ("Sessions", 5, "Amount"): "must be 0 or more",
        ("Sessions", 6, "Client ID"): "no client has the id 'C9999'",
        ("Sessions", 7, "Status"): "write Completed, not 'Done'",
        ("Sessions", 8, "Date"): "a Completed session after the as-of date",
        ("Sessions", 12, ""): "empty row inside the table",
        ("Clients", 4, "Client ID"): "duplicate client id",
        ("Contacts", 9, "Direction"): "'Sideways' is not one of",
    }
    for where, reason in expected.items():
        assert where in found, (where, sorted(found))
        assert found[where].startswith(reason), (where, found[where])
    values = dict(zip(zip(issues["Sheet"], issues["Row"], issues["Column"]), issues["Value"]))
    assert values[("Sessions", 3, "Amount")] == "ninety"
    assert values[("Sessions", 5, "Amount")] == -40
    assert set(issues["Severity"]) <= {"error", "warning"}

    # the good rows are computed: the engine on the demo data without the bad rows
    bad_sessions = [3, 4, 5, 6, 7, 8, 12]  # sheet rows: data row i is at i + 2
    sessions = demo.sessions.drop(index=[r - 2 for r in bad_sessions])
    contacts = demo.contacts.drop(index=[9 - 2])
    clients = demo.clients.drop(index=[4 - 2])
    want, _ = client_figures(clients, sessions, contacts, Settings(as_of=demo.as_of))
    got = forecast_rows(book).set_index("Client ID")
    assert list(got.index) == list(want.index)
    np.testing.assert_allclose(got["CLV"].astype(float), want["clv"], rtol=1e-12)
    assert list(got["Stage"]) == list(want["lifecycle_stage"])
    assert f"{len(issues)} rows with issues" in outputs.status or \
        f"{issues[['Sheet', 'Row']].drop_duplicates().shape[0]} rows with issues" in outputs.status


@pytest.mark.parametrize("sheet", ["Sessions", "Settings"])
def test_a_missing_sheet_or_column_is_a_clear_error_and_nothing_is_written(book, sheet):
    wb = load_workbook(book)
    if sheet == "Sessions":
        del wb["Sessions"]
        message = "no sheet named 'Sessions'"
    else:  # a required column renamed away
        wb["Contacts"]["D1"].value = "Way"
        message = "Contacts: column 'Direction' is missing"
    wb.save(book)
    before = book.read_bytes()
    folder = sorted(os.listdir(book.parent))
    assert main(["recompute", str(book)]) == 1
    with pytest.raises(SchemaError, match=message):
        recompute(FileBook(book))
    assert book.read_bytes() == before and sorted(os.listdir(book.parent)) == folder


# --- safety ----------------------------------------------------------------------------------

def test_input_sheets_are_untouched(book):
    before_members, before_cells = members(book), cells(book)
    recompute(FileBook(book))
    after_members = members(book)
    outputs = {sheet_member(book, "Forecast"), sheet_member(book, "Issues")}
    assert set(after_members) == set(before_members)
    changed = {n for n in before_members if before_members[n] != after_members[n]}
    assert changed == outputs
    assert cells(book) == before_cells
    assert (book.with_name("book.bak.xlsx")).read_bytes() != book.read_bytes()


def test_the_xlsm_keeps_its_macros_byte_for_byte(tmp_path):
    path = tmp_path / "book.xlsm"
    shutil.copy(ROOT / "workbook" / "clv_template.xlsm", path)
    before = members(path)
    assert main(["recompute", str(path), "--as-of", "2026-06-30"]) == 0
    after = members(path)
    vba = [n for n in before if n.endswith("vbaProject.bin")]
    assert vba and all(after[n] == before[n] for n in vba)
    assert after["[Content_Types].xml"] == before["[Content_Types].xml"]
    assert load_workbook(path, keep_vba=True)["Forecast"]["A2"].value.startswith(
        "Last recompute")


@pytest.mark.parametrize("where", ["backup", "replace", "zip"])
def test_a_failed_write_leaves_the_book_as_it_was(book, monkeypatch, where):
    backup = book.with_name("book.bak.xlsx")
    backup.write_bytes(b"an older backup")
    before = book.read_bytes()
    folder = sorted(os.listdir(book.parent))
    replace = os.replace

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    def fail_over_the_book(source, target):  # the backup step works, the last step fails
        if Path(target) == book:
            fail()
        replace(source, target)

    if where == "backup":
        monkeypatch.setattr(file_book.os, "replace", fail)
    elif where == "replace":
        monkeypatch.setattr(file_book.os, "replace", fail_over_the_book)
    else:
        monkeypatch.setattr(file_book._ZipWriter, "close", fail)
    with pytest.raises((OSError, BookError), match="No space left"):
        recompute(FileBook(book))
    assert book.read_bytes() == before
    assert backup.read_bytes() == b"an older backup"
    assert sorted(os.listdir(book.parent)) == folder  # no temporary file left behind
    monkeypatch.undo()
    assert main(["recompute", str(book)]) == 0 and backup.read_bytes() == before


def test_a_book_open_in_excel_is_refused(book, capsys):
    lock = book.with_name("~$book.xlsx")
    lock.write_bytes(b"owner")
    before = book.read_bytes()
    with pytest.raises(BookError, match="open in Excel or LibreOffice"):
        FileBook(book)
    assert main(["recompute", str(book)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "close it and run again" in err
    assert book.read_bytes() == before


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_a_read_only_book_is_refused(book):
    book.chmod(0o444)
    with pytest.raises(BookError, match="cannot be opened for writing"):
        FileBook(book)


def test_text_from_cells_never_becomes_a_formula(book):
    names = ['=HYPERLINK("http://evil.example","click")', "+1", "-2+3", "@SUM(A1)",
             "  spaced  ", "a < b & c"]
    edit(book, {("Clients", f"B{2 + i}"): name for i, name in enumerate(names)}
         | {("Sessions", "D3"): "=1+1"})
    recompute(FileBook(book))
    ws = load_workbook(book)["Forecast"]
    got = [ws.cell(FORECAST_HEADER_ROW + 1 + i, 2) for i in range(len(names))]
    # the validator trims spaces around text; nothing else changes
    assert [c.value for c in got] == [n.strip() for n in names]
    assert all(c.data_type == "s" for c in got)
    issue = [c for row in load_workbook(book)["Issues"].iter_rows() for c in row
             if c.value == "=1+1"]
    assert issue and issue[0].data_type == "s"
    xml = members(book)
    for sheet in ("Forecast", "Issues"):
        assert "<f>" not in xml[sheet_member(book, sheet)].decode()


def test_a_zip_bomb_is_refused_before_parsing(tmp_path, monkeypatch):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"<x/>")
    data = bytearray(path.read_bytes())
    central = data.index(b"PK\x01\x02")
    data[central + 24:central + 28] = struct.pack("<I", 0xF0000000)  # declares 4 GB
    path.write_bytes(bytes(data))
    import python_calamine

    def parse(*args, **kwargs):
        raise AssertionError("parsed a zip bomb")

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_path", parse)
    with pytest.raises(BookError, match="unpacks to 4.0 GB; refusing.*move older sessions"):
        FileBook(path)


def test_out_writes_elsewhere_and_leaves_the_book(book, tmp_path, capsys):
    before = book.read_bytes()
    out = tmp_path / "result.xlsx"
    assert main(["recompute", str(book), "--out", str(out), "--as-of", "2026-03-31"]) == 0
    assert book.read_bytes() == before and not book.with_name("book.bak.xlsx").exists()
    assert "(as of 2026-03-31)" in load_workbook(out)["Forecast"]["A2"].value
    assert f"Wrote {out}" in capsys.readouterr().out
    assert main(["recompute", str(book), "--out", str(tmp_path / "x.xlsm")]) == 1


def test_recompute_twice_replaces_the_first_output(book, demo):
    edit(book, {("Sessions", "D3"): "ninety"})
    recompute(FileBook(book), as_of="2026-06-30")
    first = members(book)[sheet_member(book, "Forecast")]
    assert len(issues_rows(book)) == 1
    edit(book, {("Sessions", "D3"): float(demo.sessions["amount"].iloc[1]),
                ("Clients", "B2"): "Renamed"})
    recompute(FileBook(book), as_of="2026-06-30")
    assert issues_rows(book).empty
    got = forecast_rows(book)
    assert len(got) == len(demo.clients) and got["Name"].iloc[0] == "Renamed"
    assert members(book)[sheet_member(book, "Forecast")] != first
    assert load_workbook(book).active.title == "Start"


def test_the_empty_template_recomputes(tmp_path):
    path = tmp_path / "empty.xlsx"
    shutil.copy(ROOT / "workbook" / "clv_template.xlsx", path)
    outputs = recompute(FileBook(path), as_of="2026-06-30")
    assert "0 clients, 0 sessions, 0 contacts read" in outputs.status
    assert forecast_rows(path).empty and issues_rows(path).empty


def _figures(path) -> dict:
    ws = load_workbook(path)["Forecast"]
    return {ws.cell(r, 1).value: ws.cell(r, 2).value
            for r in range(FORECAST_FIGURE_ROW, FORECAST_FIGURE_ROW + len(FORECAST_FIGURES))}


@pytest.mark.parametrize("sessions", [[], [("2026-05-02", "C1", 90, "Completed")]],
                         ids=["empty", "one session"])
def test_without_a_forecast_the_figures_are_blank_not_zero(tmp_path, sessions):
    path = build_template(tmp_path / "book.xlsx")
    changes = {("Clients", "A2"): "C1"} if sessions else {}
    for i, (day, client, amount, status) in enumerate(sessions, start=2):
        changes |= {("Sessions", f"A{i}"): dt.datetime.fromisoformat(day),
                    ("Sessions", f"B{i}"): client, ("Sessions", f"D{i}"): amount,
                    ("Sessions", f"E{i}"): status}
    edit(path, changes)
    outputs = recompute(FileBook(path), as_of="2026-06-30")
    assert "No forecast" in outputs.status or "could not" in outputs.status, outputs.status
    figures = _figures(path)
    for label, _ in FORECAST_FIGURES[:-1]:
        assert figures[label] is None, (label, figures[label])
    assert len(forecast_rows(path)) == len(sessions)


def test_with_a_forecast_the_figures_are_filled(book, demo):
    recompute(FileBook(book))
    figures = _figures(book)
    assert figures[FORECAST_FIGURES[0][0]] == len(demo.clients)
    assert 0 < figures[FORECAST_FIGURES[1][0]] < len(demo.clients)


def test_progress_is_reported_in_order(book):
    seen = []
    recompute(FileBook(book, on_progress=lambda stage, f: seen.append((stage, f))))
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert {"read", "validate", "compute", "forecast", "write"} <= {s for s, _ in seen}


def test_recompute_shows_the_model_choice_and_both_churn_measures(book, demo, capsys):
    assert main(["recompute", str(book)]) == 0
    capsys.readouterr()
    got = forecast_rows(book)
    headers = list(got.columns)
    at = headers.index("P(alive)")
    assert headers[at:at + 3] == ["P(alive)", "1 \u2212 P(alive)", "P(no purchase, 12 months)"]
    assert headers.index("Churn risk") < at  # the behavioural score stays, beside the model's
    settings = Settings(as_of=demo.as_of)
    model = forecast(demo.clients["client_id"], demo.sessions, demo.as_of, settings)
    for header, key in (("1 \u2212 P(alive)", "p_not_alive"),
                        ("P(no purchase, 12 months)", "p_no_purchase_12m")):
        np.testing.assert_allclose(got[header].astype(float), model.table[key].to_numpy(float),
                                   rtol=1e-12, err_msg=header)
    bought = got["P(alive)"].notna()
    assert bought.any()
    np.testing.assert_allclose(got.loc[bought, "1 \u2212 P(alive)"].astype(float),
                               1.0 - got.loc[bought, "P(alive)"].astype(float), rtol=1e-12)
    status = load_workbook(book)["Forecast"]["A2"].value
    assert status.endswith(model.message)
    # Start shows this line: how churn risk was learned and how well it did in the backtest
    _, churn = client_figures(demo.clients, demo.sessions, demo.contacts, settings)
    assert f"{churn.message} {model.message}" in status
    assert churn.method in status and "backtest" in status and "AUC" in status
    assert f"{model.model.split(' + ')[0]} chosen: " in status and "time unit weeks" in status


def test_the_time_unit_setting_reaches_the_forecast(book):
    from clv_xl.template.inputs import settings_rows

    edit(book, {("Settings", f"B{settings_rows()['time_unit']}"): "Months"})
    outputs = recompute(FileBook(book))
    assert "time unit months" in outputs.status
    assert "time unit weeks" not in outputs.status


def test_table_rows_column_by_column_equal_cell_by_cell():
    """The column-wise fast path writes exactly the cells cell_xml writes, value kind by kind."""
    styles = file_book._Styles(b"")
    styles.date_style, styles.date_ids = "3", {"3"}
    values = [1.5, float("nan"), float("inf"), -0.0, 7, True, np.float64(2.25), np.int64(4),
              " padded ", "=HYPERLINK(1)", "a<b&c>\x01", None, pd.NaT,
              dt.date(2026, 1, 2), pd.Timestamp("2026-03-04 05:06"), "plain"]
    rows = [values[i:] + values[:i] for i in range(len(values))] + [[1.0], []]
    styled = {1: "2", 3: "3", 5: "1"}
    fast = "".join(file_book._table_rows(rows, 10, styled, styles))
    slow = []
    for r, row in enumerate(rows, start=10):
        cells = "".join(file_book.cell_xml(f"{file_book.get_column_letter(c)}{r}",
                                           styled.get(c), value, styles)
                        for c, value in enumerate(row, start=1))
        if cells:
            slow.append(f'<row r="{r}">{cells}</row>')
    assert fast == "".join(slow)
    assert '<c r="A10" s="2"><v>1.5</v></c>' in fast  # a number, with its column's style


def test_sheet_written_in_small_pieces_equals_one_piece(book, tmp_path, monkeypatch):
    """The Forecast XML made and deflated piece by piece (sizes and CRC patched into the zip
    header afterwards) reads back, CRC-checked, as the same XML made in one go."""
    grid = [["Client ID", "P(alive)"]] + [[f"C{i:03d}", i / 7] for i in range(23)]
    member = sheet_member(book, "Issues")
    with zipfile.ZipFile(book) as archive:
        expected = "".join(file_book.sheet_xml(archive.read(member).decode("utf-8"), grid, 1,
                                               file_book._Styles(archive.read("xl/styles.xml"))))
    monkeypatch.setattr(file_book, "ROWS_PER_PIECE", 2)
    out = tmp_path / "pieces.xlsx"
    with open(out, "wb") as handle:
        file_book.patch_book(book, handle, {"Issues": grid})
    with zipfile.ZipFile(out) as archive, open(out, "rb") as raw:
        assert archive.testzip() is None
        assert archive.read(member).decode("utf-8") == expected
        info = archive.getinfo(member)
        raw.seek(info.header_offset + 14)  # the local header agrees with the central directory
        assert struct.unpack("<III", raw.read(12)) == (info.CRC, info.compress_size,
                                                       info.file_size)
    assert issues_rows(out)["P(alive)"].tolist() == pytest.approx([i / 7 for i in range(23)])


def test_rows_typed_below_a_table_are_an_issue(tmp_path):
    """LibreOffice and scripts do not grow a table as rows are typed below it: the book's
    formulas miss those rows, and the Issues sheet says so."""
    path = tmp_path / "typed.xlsx"
    shutil.copyfile(Path(__file__).resolve().parents[1] / "workbook" / "clv_template.xlsx", path)
    wb = load_workbook(path)
    wb["Clients"]["A2"] = "C1"
    for day in (1, 2, 3):
        wb["Sessions"].append([dt.datetime(2025, 1, day), "C1", "Mini", 100, "Completed"])
    wb.save(path)
    outputs = recompute(FileBook(path), as_of=dt.date(2025, 12, 31))
    issues = outputs.issues
    below = issues[issues["Problem"].str.contains("below the Sessions table")]
    assert len(below) == 1 and below.iloc[0]["Severity"] == "warning"
    assert below.iloc[0]["Row"] == 3 and "3 filled rows" in below.iloc[0]["Problem"]
