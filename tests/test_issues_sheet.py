"""The Issues sheet stays readable and below Excel's row limit: a problem repeated many times
is listed for its first rows and summed up in one row; the sheet stops below 1,048,576 rows
with a row that says what was left out."""

from __future__ import annotations

import re
import shutil

import pytest
from openpyxl import load_workbook

from clv_xl.batch.outputs import MAX_ISSUE_ROWS, ROWS_PER_PROBLEM, issues_table
from clv_xl.book.validate import Problem
from clv_xl.cli import main
from clv_xl.demo import demo_data
from clv_xl.template import build_template

EXCEL_ROWS = 1_048_576


def _more(value) -> int:
    return int(value.split()[0].replace(",", ""))


def test_a_few_problems_are_listed_one_by_one_in_order():
    problems = [Problem("Sessions", 3, "Amount", "x", "text 'x' where a number belongs"),
                Problem("Sessions", 7, "Date", "y", "'y' is not a date (use YYYY-MM-DD)"),
                Problem("Contacts", 2, "Direction", "Up", "'Up' is not one of In, Out")]
    table = issues_table(problems)
    assert list(table.itertuples(index=False, name=None)) == [
        (p.sheet, p.row, p.column, p.value, p.reason, p.severity) for p in problems]


def test_300000_bad_rows_with_4_problems_each_fit_the_sheet_and_are_grouped():
    problems = []
    for row in range(2, 300_002):
        problems += [
            Problem("Sessions", row, "Date", f"d{row}", f"'d{row}' is not a date (use YYYY-MM-DD)"),
            Problem("Sessions", row, "Client ID", "C9", "no client has the id 'C9' in Clients"),
            Problem("Sessions", row, "Amount", "-1", "must be 0 or more"),
            Problem("Sessions", row, "Status", "Done", "'Done' is not one of Completed, ...")]
    table = issues_table(problems)
    assert len(table) + 1 <= EXCEL_ROWS  # with its header
    listed = table[table["Row"].notna()]
    summed = table[table["Row"].isna()]
    assert len(summed) == 4
    assert len(listed) + sum(map(_more, summed["Value"])) == len(problems)  # nothing lost
    for _, group in listed.groupby("Column"):
        assert len(group) == ROWS_PER_PROBLEM
    date = summed[summed["Column"] == "Date"].iloc[0]
    assert date["Problem"] == ("'…' is not a date (use YYYY-MM-DD): 299,900 more rows like "
                               "this, rows 102 to 300,001 (the first 100 are listed above)")


def test_the_sheet_stops_below_the_excel_limit_with_a_row_saying_what_was_left_out():
    problems = [Problem("Clients", row, "Notes", None, f"problem number {row}")
                for row in range(2, 1_100_002)]  # no two alike: nothing to group
    table = issues_table(problems)
    assert len(table) == MAX_ISSUE_ROWS < EXCEL_ROWS
    last = table.iloc[-1]
    left_out = len(problems) - (MAX_ISSUE_ROWS - 1)
    assert _more(last["Value"]) == left_out
    assert re.search(f"{left_out:,} more issue rows are not listed", last["Problem"])


@pytest.fixture(scope="module")
def master(tmp_path_factory):
    return build_template(tmp_path_factory.mktemp("m") / "book.xlsx", demo_data(n_clients=150))


def test_a_book_with_many_alike_problems_gets_a_readable_issues_sheet(master, tmp_path):
    book = tmp_path / "book.xlsx"
    shutil.copy(master, book)
    wb = load_workbook(book)
    ws = wb["Sessions"]
    header = [c.value for c in ws[1]]
    column = header.index("Client ID") + 1
    bad = list(range(2, 2 + ROWS_PER_PROBLEM + 40))
    for row in bad:
        ws.cell(row=row, column=column).value = "C9999"
    wb.save(book)
    assert main(["recompute", str(book)]) == 0
    rows = list(load_workbook(book)["Issues"].iter_rows(values_only=True))[1:]
    unknown = [r for r in rows if r[0] == "Sessions" and r[2] == "Client ID"]
    assert [r[1] for r in unknown[:-1]] == bad[:ROWS_PER_PROBLEM]
    summary = unknown[-1]
    assert summary[1] is None and summary[3] == "40 more"
    assert summary[4] == (f"no client has the id '…' in Clients: 40 more rows like this, rows "
                          f"{bad[ROWS_PER_PROBLEM]} to {bad[-1]} (the first 100 are listed above)")
