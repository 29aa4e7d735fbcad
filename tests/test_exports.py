"""Exports as real systems write them: imported into a book, or one clear line and a
non-zero exit. Each file is written here byte by byte as the system writes it (byte-order
marks, CRLF, code pages, delimiters, decimal commas, headers of Square, Shopify, Stripe,
Acuity, Mindbody, a German and a Japanese sheet), never committed."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from openpyxl import Workbook, load_workbook

from clv_xl.book.exports import read_export, validate_export
from clv_xl.book.parse import parse_amounts, parse_dates
from clv_xl.cli import main

TEMPLATE = Path(__file__).resolve().parents[1] / "workbook" / "clv_template.xlsx"


def _lines(*rows, sep=",", end="\n"):
    return end.join(sep.join(row) for row in rows) + end


# name -> (bytes of the file, clients, sessions, revenue of the Completed sessions)
EXPORTS = {
    "excel_us.csv": (  # Excel "CSV UTF-8" on a US Windows: BOM, CRLF, m/d/yyyy, $1,200.00
        b"\xef\xbb\xbf" + _lines(("Date", "Client ID", "Package", "Amount", "Status"),
                                 ("1/10/2025", "Zo\u00eb", "Mini", "$350.00", "Completed"),
                                 ("1/20/2025", "Anna", "Mini", '"$1,200.00"', "Completed"),
                                 ("2/13/2025", "ANNA ", "Mini", "$50.00", "Canceled"),
                                 end="\r\n").encode("utf-8"),
        2, 3, 1550.0),
    "excel_cp1252.csv": (  # Excel "CSV (Comma delimited)": cp1252, d/m/yyyy (13/01 tells)
        _lines(("Date", "Client", "Service", "Price", "Status"),
               ("13/01/2025", "Zo\u00eb", "Family", "120.50", "Completed"),
               ("02/02/2025", "Zo\u00eb", "Family", "80", "No-show"),
               ("03/02/2025", "Ren\u00e9e", "Mini", "99.99", "Completed"),
               end="\r\n").encode("cp1252"),
        2, 3, 220.49),
    "german.csv": (  # German Excel: semicolons, decimal commas, dotted dates, euro signs
        _lines(("Datum", "Kunde", "Leistung", "Betrag", "Status"),
               ("31.12.2024", "M\u00fcller", "Portr\u00e4t", "1.200,50 \u20ac", "Abgeschlossen"),
               ("05.01.2025", "M\u00fcller", "Portr\u00e4t", "35,00 \u20ac", "Storniert"),
               ("06.01.2025", "Schulz", "Mini", "35,00 \u20ac", "Bezahlt"),
               sep=";").encode("utf-8"),
        2, 3, 1235.50),
    "unicode_text.csv": (  # Excel "Unicode Text": UTF-16 with BOM, tabs; ISO with a zone
        _lines(("Date", "Customer ID", "Amount", "Status"),
               ("2025-12-03T10:00:00Z", "C1", "10", "Completed"),
               ("2025-12-04T23:30:00-05:00", "C2", "20.5", "Completed"),
               sep="\t", end="\r\n").encode("utf-16"),
        2, 2, 30.5),
    "shopify_orders.csv": (  # two line items; refunded in full, partly; emails in two cases
        _lines(("Name", "Email", "Financial Status", "Paid at", "Total", "Refunded Amount",
                "Billing Name", "Created at"),
               ("#1001", "ann@example.com", "paid", "", "100.00", "0", "Ann Lee",
                "2025-12-03 10:00:00 +0100"),
               ("#1001", "", "", "", "", "", "", ""),  # the order's second line item
               ("#1002", "bob@example.com", "refunded", "", "50.00", "50.00", "Bob Ray",
                "2025-12-04 10:00:00 +0100"),
               ("#1003", "Ann@Example.com", "partially_refunded", "", "80.00", "30.00",
                "Ann Lee", "2025-12-05 10:00:00 +0100")).encode("utf-8"),
        1, 2, 150.0),
    "square_transactions.csv": (  # a refund row in parentheses lowers the earlier sale
        _lines(("Date", "Time", "Time Zone", "Customer Name", "Customer ID", "Description",
                "Net Sales", "Event Type"),
               ("12/03/2025", "10:00:00", "Pacific Time", "Ann", "CUST1", "Haircut",
                "$60.00", "Payment"),
               ("12/15/2025", "11:00:00", "Pacific Time", "Ann", "CUST1", "Haircut",
                "($20.00)", "Refund"),
               ("12/16/2025", "11:00:00", "Pacific Time", "Bo", "CUST2", "Color",
                "$90.00", "Payment")).encode("utf-8"),
        2, 2, 130.0),
    "stripe_payments.csv": (  # Created (UTC); Paid, Refunded and Failed
        _lines(("id", "Customer Email", "Created (UTC)", "Amount", "Currency", "Status"),
               ("ch_1", "a@example.com", "2025-12-03 10:00:00", "100.00", "usd", "Paid"),
               ("ch_2", "b@example.com", "2025-12-04 10:00:00", "50.00", "usd", "Failed"),
               ("ch_3", "c@example.com", "2025-12-05 10:00:00", "70.00", "usd", "Refunded"),
               ("ch_4", "a@example.com", "2025-12-06 10:00:00", "40.00", "usd", "Paid"),
               ).encode("utf-8"),
        1, 2, 140.0),
    "stripe_guests.csv": (  # a guest has no Customer ID but an email; a totals row at the end
        _lines(("id", "Description", "Created (UTC)", "Amount", "Amount Refunded", "Currency",
                "Status", "Customer ID", "Customer Email"),
               ("ch_1", "Session", "2025-12-03 10:00:00", "100.00", "0.00", "usd", "Paid",
                "cus_1", "a@example.com"),
               ("ch_2", "Session", "2025-12-04 10:00:00", "50.00", "20.00", "usd", "Paid", "",
                "guest@example.com"),
               ("ch_3", "Session", "2025-12-05 10:00:00", "70.00", "0.00", "usd", "Paid",
                "cus_1", "a@example.com"),
               ("Total", "", "", "220.00", "", "", "", "", "")).encode("utf-8"),
        2, 3, 200.0),
    "acuity.csv": (  # month names with a time; first and last name; no status column
        _lines(("Start time", "End time", "First name", "Last name", "Email", "Type",
                "Appointment Price"),
               ('"December 3, 2025 10:00am"', '"December 3, 2025 11:00am"', "Ann", "Lee",
                "ann@example.com", "Consult", "75.00"),
               ('"January 9, 2026 2:30pm"', '"January 9, 2026 3:00pm"', "Bob", "Ray",
                "bob@example.com", "Consult", "75.00")).encode("utf-8"),
        2, 2, 150.0),
    "mindbody.csv": (  # statuses of a studio's visits
        _lines(("Client ID", "Client", "Date", "Service", "Status", "Price"),
               ("100", "Ann Lee", "11/28/2025", "Yoga", "Signed in", "20"),
               ("100", "Ann Lee", "12/05/2025", "Yoga", "Late Cancel", "20"),
               ("101", "Bob Ray", "12/06/2025", "Yoga", "No Show", "20"),
               ("101", "Bob Ray", "12/07/2025", "Yoga", "Completed", "20")).encode("utf-8"),
        2, 4, 40.0),
    "japanese.csv": (
        _lines(("日付", "顧客ID", "メニュー", "金額", "ステータス"),
               ("2025/12/03", "K001", "カット", '"¥4,400"', "完了"),
               ("2025/12/10", "K002", "カラー", '"¥8,800"', "キャンセル")).encode("utf-8"),
        2, 2, 4400.0),
}


def _xlsx_export(path: Path) -> None:
    """An export saved by Excel as a workbook: sheet "Sheet1", Excel serial dates."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(["Order Date", "Customer", "Total", "Status"])
    ws.append([dt.datetime(2025, 3, 1, 10, 0), "Ann", 120.0, "Completed"])
    ws.append([45700, "Bob", "$35.00", "Cancelled"])  # 45700 = 2025-02-12 as a bare number
    ws.append(["2025-03-09", "Bob", 60, "Paid"])
    wb.save(path)


@pytest.fixture
def book(tmp_path):
    path = tmp_path / "book.xlsx"
    shutil.copyfile(TEMPLATE, path)
    return path


def _book_tables(path: Path):
    wb = load_workbook(path, read_only=True)
    sessions = [r for r in wb["Sessions"].iter_rows(min_row=2, values_only=True) if r[0]]
    clients = [r for r in wb["Clients"].iter_rows(min_row=2, max_col=8, values_only=True)
               if r[0]]
    return clients, sessions


@pytest.mark.parametrize("name", sorted(EXPORTS) + ["sheet1.xlsx"])
def test_each_export_imports_once_with_its_clients_sessions_and_revenue(name, book, tmp_path,
                                                                        capsys):
    path = tmp_path / name
    if name == "sheet1.xlsx":
        _xlsx_export(path)
        expected = (2, 3, 180.0)
    else:
        data, *expected = EXPORTS[name]
        path.write_bytes(data)
    assert main(["import", str(path), "--into", str(book)]) == 0, capsys.readouterr().err
    clients, sessions = _book_tables(book)
    revenue = sum(r[3] for r in sessions if r[4] == "Completed")
    assert (len(clients), len(sessions)) == tuple(expected[:2])
    assert revenue == pytest.approx(expected[2])
    assert all(isinstance(r[0], dt.datetime) for r in sessions)  # dates, not text
    before = book.read_bytes()
    assert main(["import", str(path), "--into", str(book)]) == 0
    assert "already in the book" in capsys.readouterr().out
    assert book.read_bytes() == before  # the second run adds nothing


def test_import_keeps_existing_rows_and_extends_the_tables(book, tmp_path, capsys):
    first = tmp_path / "a.csv"
    first.write_text("Date,Client ID,Amount,Status\n2025-01-05,A,10,Completed\n")
    second = tmp_path / "b.csv"
    rows = "".join(f"2025-02-{d:02d},{c},5,Completed\n" for d in range(1, 29) for c in "abBX")
    second.write_text("Date,Client ID,Amount,Status\n" + rows)
    assert main(["import", str(first), "--into", str(book)]) == 0
    assert main(["import", str(second), "--into", str(book)]) == 0
    clients, sessions = _book_tables(book)
    assert [c[0] for c in clients] == ["A", "b", "X"]  # "a" takes the book's "A"; "B" is "b"
    assert sessions[0][:2] == (dt.datetime(2025, 1, 5), "A") and len(sessions) == 1 + 28 * 4
    wb = load_workbook(book)
    assert wb["Sessions"].tables["Sessions"].ref == f"A1:E{1 + len(sessions)}"
    assert main(["summary", str(book), "--as-of", "2025-12-31"]) == 0
    assert "Clients: 3" in capsys.readouterr().out


def test_map_names_the_columns_and_the_message_lists_them(book, tmp_path, capsys):
    path = tmp_path / "odd.csv"
    path.write_text("When,Who,Paid EUR,Notes\n2025-01-05,A,10,x\n")
    assert main(["import", str(path), "--into", str(book)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no column for Date" in err[0] and "--map" in err[0]
    assert main(["import", str(path), "--into", str(book),
                 "--map", "When=Date,Who=Client ID,Paid EUR=Amount"]) == 0
    out = capsys.readouterr().out
    assert "Date <- 'When'" in out and "not used: Notes" in out and "1 session" in out


def test_title_lines_above_the_header_are_skipped_and_rows_keep_their_numbers(tmp_path, capsys):
    path = tmp_path / "report.csv"
    path.write_text("Transactions report\nFrom 12/01/2025 to 12/31/2025\n\n"
                    "Date,Customer ID,Net Sales\n12/03/2025,C1,$10.00\n12/13/2025,C2,abc\n")
    assert main(["summary", str(path), "--as-of", "2025-12-31"]) == 0
    err = capsys.readouterr().err
    assert "report.csv row 6, Amount: text 'abc'" in err and "Customer ID" in err


def test_ambiguous_dates_ask_once_and_the_flags_decide(book, tmp_path, capsys):
    path = tmp_path / "dates.csv"
    path.write_text("Date,Client ID,Amount\n01/10/2025,A,5\n02/11/2025,A,5\n")
    assert main(["summary", str(path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--dayfirst or --monthfirst" in err[0]
    assert main(["import", str(path), "--into", str(book), "--dayfirst"]) == 0
    _, sessions = _book_tables(book)
    assert [s[0].date() for s in sessions] == [dt.date(2025, 10, 1), dt.date(2025, 11, 2)]


# --- odd files: one line, or a computed report -------------------------------------------------

ODD = {
    "empty.csv": (b"", "is empty"),
    "blank_lines.csv": (b"\n\r\n\n", "is empty"),
    "binary.csv": (bytes(range(256)) * 8, "binary content"),
    "damaged.xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "cannot be read as a workbook"),
    "unclosed_quote.csv": (b'Date,Client ID,Amount,Status\n2025-01-01,"A,5,Completed\n'
                           b"2025-01-02,B,5,Completed\n", "never closed"),
    "no_amount.csv": (b"Date,Client ID,Status\n2025-01-01,A,Completed\n",
                      "no column for Amount"),
    "all_bad.csv": (b"Date,Client ID,Amount,Status\nsoon,A,5,Completed\nlater,B,x,Completed\n",
                    "no usable session rows"),
    "header_only.csv": (b"Date,Client ID,Amount,Status\n", "no session rows"),
    "broken.xlsx": (b"PK\x03\x04 not really a zip", "not an Excel workbook"),
    "broken_export.csv": (b"PK\x03\x04 not really a zip", "not an Excel workbook"),
}


@pytest.mark.parametrize("name", sorted(ODD))
def test_odd_files_give_one_line_and_a_non_zero_exit(name, tmp_path, capsys):
    data, words = ODD[name]
    path = tmp_path / name
    path.write_bytes(data)
    assert main(["summary", str(path)]) == 1
    err = [line for line in capsys.readouterr().err.splitlines()
           if line.startswith("clv-xl:") or "Traceback" in line]
    assert len(err) == 1 and err[0].startswith("clv-xl: error: ") and words in err[0], err


@pytest.mark.parametrize("args, words", [
    (["--out", "{tmp}/report.txt"], "writes a .csv or .xlsx"),
    (["--as-of", "9999-12-31"], "date after 2189-12-31: not supported"),
    (["--as-of", "1850-01-01"], "date before 1900-01-01: not supported"),
    (["--map", "Nope=Date"], "not a column"),
    (["--map", "Date=Birthday"], "not a Sessions column"),
])
def test_bad_options_give_one_line(args, words, tmp_path, capsys):
    path = tmp_path / "s.csv"
    path.write_text("Date,Client ID,Amount,Status\n2025-01-01,A,5,Completed\n")
    code = main(["summary", str(path), *[a.format(tmp=tmp_path) for a in args]])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and words in err[0], err
    assert not (tmp_path / "report.txt").exists()


def test_an_old_xls_export_is_read(tmp_path, capsys):
    """Excel 97-2003 files, as older booking systems still export them (made by LibreOffice)."""
    from libreoffice import convert, require_soffice

    require_soffice()
    source = tmp_path / "export.xlsx"
    _xlsx_export(source)
    xls = convert(source, tmp_path / "xls", "xls")
    book = shutil.copyfile(TEMPLATE, tmp_path / "b.xlsx")
    assert main(["import", str(xls), "--into", str(book)]) == 0, capsys.readouterr().err
    clients, sessions = _book_tables(book)
    assert (len(clients), len(sessions)) == (2, 3)


@pytest.mark.parametrize("name, data", [
    ("ragged.csv", b"Date,Client ID,Amount,Status\n2025-01-01,A,5,Completed,extra\n"
                   b"2025-01-02,B\n2025-01-03,C,7,Completed\n"),
    ("latin1.csv", "Date,Client ID,Amount,Status\n2025-01-01,Jos\u00e9,5,Completed\n"
                   .encode("latin-1")),
    ("utf16_no_bom.csv", "Date,Client ID,Amount,Status\n2025-01-01,A,5,Completed\n"
                         .encode("utf-16-le")),
    ("far_dates.csv", b"Date,Client ID,Amount,Status\n9999-12-31,A,5,Completed\n"
                      b"0001-01-01,B,5,Completed\n2025-01-01,C,5,Completed\n"),
    ("workbook_named.csv", None),
])
def test_odd_but_readable_files_are_computed(name, data, tmp_path, capsys):
    path = tmp_path / name
    if data is None:
        _xlsx_export(path)
    else:
        path.write_bytes(data)
    assert main(["summary", str(path), "--as-of", "2025-12-31"]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "Clients:" in captured.out


# --- CSV out --------------------------------------------------------------------------------

def test_csv_out_neutralises_formulas_and_has_no_float_noise(tmp_path, capsys):
    path = tmp_path / "s.csv"
    path.write_text('Date,Client ID,Amount,Status\n'
                    '2025-01-01,"=HYPERLINK(""http://x"",""y"")",0.1,Completed\n'
                    '2025-01-01,+cmd|\' /C calc\'!A0,0.2,Completed\n'
                    '2025-03-01,+cmd|\' /C calc\'!A0,0.1,Completed\n'
                    '2025-01-01,@SUM(A1),4803.86,Completed\n'
                    '2025-01-01,-2+3,5,Completed\n')
    out = tmp_path / "out.csv"
    assert main(["summary", str(path), "--as-of", "2025-06-30", "--out", str(out)]) == 0
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    ids = [r[header.index("Client ID")] for r in body]
    assert sorted(ids) == sorted(["'=HYPERLINK(\"http://x\",\"y\")", "'+cmd|' /C calc'!A0",
                                  "'@SUM(A1)", "'-2+3"])
    text = out.read_text()
    assert '"\'=HYPERLINK' in text  # text cells are quoted
    revenue = {r[header.index("Client ID")]: r[header.index("Revenue")] for r in body}
    assert revenue["'+cmd|' /C calc'!A0"] == "0.3" and revenue["'@SUM(A1)"] == "4803.86"
    assert all(r[header.index("Days since")].isdigit() for r in body)
    assert all(len(v.split(".")[-1]) <= 6 for r in body for v in r if v.replace(".", "").isdigit())


# --- the parsers --------------------------------------------------------------------------

def test_amounts_as_exports_write_them():
    texts = ["$1,200.00", "(35.00)", "USD 12", "-$5.50", "5.25-", "1'200.50", "12 kr", "abc"]
    assert parse_amounts(pd.Series(texts)).tolist() == [1200.0, -35.0, 12.0, -5.5, -5.25,
                                                        1200.5, 12.0, "abc"]
    assert parse_amounts(pd.Series(["1.200,50", "35,00", "1 200,00 €"])).tolist() == \
        [1200.5, 35.0, 1200.0]


def test_dates_as_exports_write_them():
    texts = ["2025-12-03T23:30:00-05:00", "2025-12-03 10:00:00 +0100", "2025/12/03",
             "Dec 3, 2025 10:00 am", "3 December 2025", 45994, "45994", "20251203"]
    parsed, _ = parse_dates(pd.Series(texts, dtype=object))
    assert [pd.Timestamp(v).date() for v in parsed] == [dt.date(2025, 12, 3)] * len(texts)
    parsed, note = parse_dates(pd.Series(["13/01/2025", "02/03/2025"]))
    assert [v.date() for v in parsed] == [dt.date(2025, 1, 13), dt.date(2025, 3, 2)]
    assert "day-first" in note


@settings(max_examples=60, deadline=None)
@given(st.decimals(min_value=0, max_value=10**7, places=2), st.booleans())
def test_any_amount_written_us_or_eu_style_reads_back(amount, european):
    us = f"${amount:,.2f}"
    eu = us.replace(",", " ").replace(".", ",").replace(" ", ".").replace("$", "") + " €"
    text = eu if european else us
    assert parse_amounts(pd.Series([text, "0,50 €" if european else "$0.50"]))[0] == \
        pytest.approx(float(amount))


def test_ids_differing_in_case_or_spaces_are_flagged_and_merged(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("Date,Client ID,Amount,Status\n2025-01-01,Anna,5,Completed\n"
                    "2025-01-02,ANNA,5,Completed\n2025-01-03, anna ,5,Completed\n")
    good, problems = validate_export(read_export(path))
    assert good["client_id"].tolist() == ["Anna"] * 3
    assert [(p.row, p.severity) for p in problems] == [(3, "warning"), (4, "warning")]


def test_xlsx_out_takes_control_characters_and_blank_days(tmp_path, capsys):
    path = tmp_path / "s.csv"
    path.write_bytes(b"Date,Client ID,Amount,Status\n2025-01-01,A\x01B,5,Completed\n")
    out = tmp_path / "out.xlsx"
    assert main(["summary", str(path), "--as-of", "2025-12-31", "--out", str(out)]) == 0
    rows = list(load_workbook(out)["Summary"].values)
    header, row = rows[0], rows[1]
    assert row[header.index("Client ID")] == "A\ufffdB"
    assert row[header.index("Usual interval (days)")] is None
    assert row[header.index("Days since")] == 364
