"""The row validator, the reader and the writer: bad rows are listed, text stays text."""

import datetime as dt

import pandas as pd
import pytest
from openpyxl import load_workbook

from clv_xl.book.io import BookError, check_size, read_table, write_tables
from clv_xl.book.schema import CLIENTS, CONTACTS, SESSIONS
from clv_xl.book.validate import SchemaError, validate_sheet

D = dt.datetime


def sessions(*rows):
    return pd.DataFrame(list(rows), columns=["Date", "Client ID", "Package", "Amount", "Status"])


def reasons(problems):
    return {(p.row, p.column): p.reason for p in problems}


def test_good_rows_are_typed_and_keyed_by_sheet_row():
    good, problems = validate_sheet(SESSIONS, sessions(
        (D(2025, 1, 2), "A", "Mini", 120.0, "Completed"),
        ("2025-02-03", "A", None, None, " cancelled ")), client_ids=["A"])
    assert problems == []
    assert list(good.index) == [2, 3]
    assert list(good["status"]) == ["Completed", "Cancelled"]
    assert list(good["amount"]) == [120.0, 0.0]
    assert good["date"].dtype.kind == "M"


@pytest.mark.parametrize("row, column, words", [
    ((D(2025, 1, 1), "A", "", "abc", "Completed"), "Amount", "text 'abc'"),
    ((D(2025, 1, 1), "A", "", -5.0, "Completed"), "Amount", "0 or more"),
    ((D(2025, 1, 1), "A", "", True, "Completed"), "Amount", "TRUE"),
    ((D(2025, 1, 1), "A", "", D(2025, 1, 1), "Completed"), "Amount", "date where a number"),
    ((D(2025, 1, 1), "A", "", float("nan"), "Completed"), "Amount", "needs an amount"),
    (("soon", "A", "", 5.0, "Completed"), "Date", "not a date"),
    ((45000.0, "A", "", 5.0, "Completed"), "Date", "format the cell as a date"),
    ((D(2025, 1, 1), "A", "", 5.0, "Done"), "Status", "write Completed, not 'Done'"),
    ((D(2025, 1, 1), "A", "", 5.0, "Maybe"), "Status", "not one of Completed"),
    ((D(2025, 1, 1), "Q", "", 5.0, "Completed"), "Client ID", "no client has the id 'Q'"),
    ((D(2025, 1, 1), None, "", 5.0, "Completed"), "Client ID", "is blank"),
    ((D(2027, 1, 1), "A", "", 5.0, "Completed"), "Date", "after the as-of date"),
])
def test_each_bad_row_is_named_and_the_good_ones_kept(row, column, words):
    good_row = (D(2025, 1, 1), "A", "", 10.0, "Completed")
    good, problems = validate_sheet(SESSIONS, sessions(good_row, row), client_ids=["A"],
                                    as_of="2025-12-31")
    assert list(good.index) == [2]
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.sheet, problem.row, problem.column) == ("Sessions", 3, column)
    assert words in problem.reason


def test_empty_rows_are_skipped_with_a_warning():
    good, problems = validate_sheet(SESSIONS, sessions(
        (D(2025, 1, 1), "A", "", 10.0, "Completed"), (None, None, None, None, None),
        (D(2025, 1, 2), "A", "", 10.0, "Completed"), (None, None, None, None, None)))
    assert list(good.index) == [2, 4]
    assert [(p.row, p.severity) for p in problems] == [(3, "warning")]  # not the last row


def test_duplicate_ids_and_unknown_referrers():
    raw = pd.DataFrame([("C1", "Ann"), ("C2", "Bo"), ("C1", "Cy")], columns=["Client ID", "Name"])
    raw["Referred by"] = [None, "C9", "C2"]
    good, problems = validate_sheet(CLIENTS, raw)
    assert list(good["client_id"]) == ["C1", "C2"]
    found = reasons(problems)
    assert "duplicate" in found[(4, "Client ID")]
    assert "C9" in found[(3, "Referred by")]
    assert pd.isna(good.loc[3, "referred_by"])


def test_a_missing_column_is_a_clear_error():
    with pytest.raises(SchemaError, match="'Status' is missing"):
        validate_sheet(SESSIONS, pd.DataFrame({"Date": [], "Client ID": [], "Amount": []}))


def test_contacts_after_as_of_are_warnings():
    raw = pd.DataFrame([(D(2026, 1, 5), "A", "Email", "Out", "Yes")], columns=CONTACTS.headers)
    good, problems = validate_sheet(CONTACTS, raw, client_ids=["A"], as_of="2025-12-31")
    assert len(good) == 1 and problems[0].severity == "warning"


INJECTIONS = ["=HYPERLINK(\"http://x\",\"y\")", "+1", "-2+3", "@SUM(A1)", "=1+1"]


def test_text_is_written_as_text_never_as_a_formula(tmp_path):
    path = write_tables(tmp_path / "out.xlsx", {"T": pd.DataFrame({"name": INJECTIONS})})
    sheet = load_workbook(path)["T"]
    cells = [sheet.cell(row=i + 2, column=1) for i in range(len(INJECTIONS))]
    assert [c.value for c in cells] == INJECTIONS
    assert {c.data_type for c in cells} == {"s"}


def test_reader_round_trip_and_sheet_errors(tmp_path):
    table = pd.DataFrame({"Date": [D(2025, 1, 2)], "Client ID": ["=A"], "Amount": [5.5]})
    path = write_tables(tmp_path / "book.xlsx", {"Sessions": table})
    raw, first_row = read_table(path, "Sessions")
    assert first_row == 2
    assert raw.iloc[0].tolist()[1:] == ["=A", 5.5]
    assert pd.Timestamp(raw.iloc[0, 0]) == pd.Timestamp(2025, 1, 2)
    with pytest.raises(SchemaError, match="no sheet named 'Clients'"):
        read_table(path, "Clients")
    (tmp_path / "fake.xlsx").write_text("not a zip")
    with pytest.raises(BookError, match="not an Excel workbook"):
        check_size(tmp_path / "fake.xlsx")


def test_csv_numbers_become_numbers(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("Date,Client ID,Amount,Status\n2025-01-02,007,12.5,Completed\n")
    raw, _ = read_table(path, "Sessions")
    good, problems = validate_sheet(SESSIONS, raw)
    assert problems == [] and good["amount"].tolist() == [12.5]
    assert good["client_id"].tolist() == ["007"]


def test_mixed_cells_in_one_column_are_each_typed():
    """The vectorised checks: every kind of cell a reader gives, side by side in a column."""
    good, problems = validate_sheet(SESSIONS, sessions(
        (D(2025, 1, 2, 15, 30), "A", "Mini", 120, "Completed"),
        (dt.date(2025, 1, 3), " A ", 7.0, 5.5, " BOOKED "),
        (pd.Timestamp("2025-01-04"), "A", None, 1.0, "completed"),
        (" 2025-01-05 ", "A", "  ", None, "Cancelled"),
        (True, "A", None, 2.0, "Completed"),
        (D(2025, 1, 6), "A", None, "  ", "Completed"),
        (D(2025, 1, 7), 42.0, None, -1, "Completed")), client_ids=["A"])
    assert list(good.index) == [2, 3, 4, 5]
    assert list(good["date"]) == list(pd.to_datetime(["2025-01-02", "2025-01-03",
                                                      "2025-01-04", "2025-01-05"]))
    assert list(good["client_id"]) == ["A"] * 4
    assert list(good["package"]) == ["Mini", "7", None, None]
    assert list(good["amount"]) == [120.0, 5.5, 1.0, 0.0]
    assert list(good["status"]) == ["Completed", "Booked", "Completed", "Cancelled"]
    assert reasons(problems) == {
        (6, "Date"): "TRUE is not a date",
        (7, "Amount"): "a Completed session needs an amount",
        (8, "Amount"): "must be 0 or more",
    }
    assert [p.value for p in problems] == [True, "  ", -1]  # the cell as given


def test_many_rows_flag_only_the_bad_ones():
    n = 5000
    rows = [(D(2025, 1, 1) + dt.timedelta(days=i % 300), f"C{i % 50}", "Mini",
             "n/a" if i % 1000 == 7 else float(i), "Done" if i % 1000 == 9 else "Completed")
            for i in range(n)]
    good, problems = validate_sheet(SESSIONS, sessions(*rows),
                                    client_ids=[f"C{k}" for k in range(50)])
    assert len(good) == n - 10
    assert {(p.row - 2) % 1000 for p in problems} == {7, 9}
    assert {p.reason for p in problems if p.column == "Amount"} == {
        "text 'n/a' where a number belongs"}


def test_ids_differing_only_in_case_are_flagged_and_matched_as_excel_does():
    clients, problems = validate_sheet(CLIENTS, pd.DataFrame({"Client ID": ["Anna", "ANNA", "Bo"]}))
    assert [(p.row, p.severity) for p in problems] == [(3, "warning")]
    assert "differs from 'Anna' only in case" in problems[0].reason
    raw = pd.DataFrame({"Date": [D(2025, 1, 2)] * 2, "Client ID": ["bo", "Cy"],
                        "Amount": [5, 5], "Status": ["Completed", "Completed"]})
    good, problems = validate_sheet(SESSIONS, raw, client_ids=clients["client_id"])
    assert good["client_id"].tolist() == ["Bo"]
    assert [(p.row, p.severity) for p in problems] == [(2, "warning"), (3, "error")]


def test_a_status_in_other_words_names_the_word_the_book_needs():
    raw = pd.DataFrame({"Date": [D(2025, 1, 2)], "Client ID": ["A"], "Amount": [5],
                        "Status": ["Canceled"]})
    _, problems = validate_sheet(SESSIONS, raw)
    assert problems[0].reason == "write Cancelled, not 'Canceled'"
