"""What LibreOffice draws on Start and the Dashboard. Start: every text shows in full, and none
runs into the heading below it (the recompute's status line among them). Dashboard: an empty
book's charts draw no axis numbers (no 0/1/1 axis) and say why they are empty; a filled
book's bars carry their values. The book is printed to PDF and the words are found where
LibreOffice put them (pdftotext), not where we meant them to be."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from clv_xl.batch.file_book import write_outputs
from clv_xl.batch.outputs import Outputs, forecast_grid, issues_grid, status_line
from clv_xl.book.layout import FORECAST_HEADERS, ISSUES_HEADERS, STATUS_SUMMARY_END
from clv_xl.demo import demo_data
from clv_xl.template import build_template
from clv_xl.template.pages import NOTES, SHEET_GUIDE, STEPS

from libreoffice import pdf_words, render_png, require_soffice

#: A status as long as a big book makes it (millions of rows, issues) with a long message.
BIG = {"Clients": 400_000, "Sessions": 4_000_000, "Contacts": 1_000_000}
MESSAGE = ("Churn risk (no completed session in 12 months): logistic + MBG/NBD, chosen by a "
           "backtest on the last 136 days: AUC 0.71, Brier 0.157 (recency: AUC 0.68, Brier "
           "0.166); 76% predicted to leave, 76% left. " * 3)


def _with_status(tmp_path, status: str):
    import pandas as pd

    book = build_template(tmp_path / "book.xlsx")
    outputs = Outputs(forecast=pd.DataFrame(columns=list(FORECAST_HEADERS)),
                      issues=pd.DataFrame(columns=list(ISSUES_HEADERS)), status=status,
                      figures=[])
    write_outputs(book, {"Forecast": forecast_grid(outputs), "Issues": issues_grid(outputs)})
    return book


def _find(words, text: str, after=None):
    """The drawn words of ``text`` (in order, consecutive; the first such run after the
    words ``after``), or fail saying how far the longest partial run got."""
    wanted = text.split()
    drawn = [w[5] for w in words]
    begin = words.index(after[-1]) + 1 if after else 0
    for start in range(begin, len(drawn) - len(wanted) + 1):
        if drawn[start:start + len(wanted)] == wanted:
            return words[start:start + len(wanted)]
    longest = 0
    for start in range(len(drawn)):
        n = 0
        while n < len(wanted) and start + n < len(drawn) and drawn[start + n] == wanted[n]:
            n += 1
        longest = max(longest, n)
    pytest.fail(f"not drawn in full: {text[:60]!r}... stops after {longest} of "
                f"{len(wanted)} words")


def _above(found, heading):
    """Every word of ``found`` ends above the top of ``heading``'s first word."""
    page, top = heading[0][0], heading[0][2]
    low = max(w[4] for w in found if w[0] == page) if any(w[0] == page for w in found) else 0
    return all(w[0] <= page for w in found) and low <= top + 0.5


@pytest.mark.parametrize("counts,issues", [(None, 0), (BIG, 1_000_000)])
def test_start_shows_the_status_and_every_text_in_full(tmp_path, counts, issues):
    require_soffice()
    if counts is None:
        book = build_template(tmp_path / "book.xlsx")  # never recomputed
        shown = None
    else:
        status = status_line(dt.datetime(2026, 12, 4, 18, 55), dt.date(2026, 6, 30), counts,
                             issues, MESSAGE)
        book = _with_status(tmp_path, status)
        shown = status[:status.index(STATUS_SUMMARY_END) + len(STATUS_SUMMARY_END)]
    render_png(book, tmp_path / "out", "Start", dpi=30)
    words = pdf_words(tmp_path / "out" / "start.pdf")
    first_heading = _find(words, "How to use it")
    if shown is not None:
        status_words = _find(words, shown + " How churn risk and the forecast were made:")
        assert _above(status_words, first_heading), "the status runs into 'How to use it'"
    else:
        assert _above(_find(words, "Not recomputed yet: press Recompute"), first_heading)
    pairs = [(STEPS[-1], "The sheets"), (f"{SHEET_GUIDE[-1][0]}: {SHEET_GUIDE[-1][1]}",
                                         NOTES[0][0])]
    pairs += [(NOTES[i][1], NOTES[i + 1][0]) for i in range(len(NOTES) - 1)]
    for text, heading in pairs:
        found = _find(words, text)
        assert _above(found, _find(words, heading, after=found)), (text[:40], heading)
    _find(words, NOTES[-1][1])


def _chart_words(words):
    """The words right of column E, where the charts are (from column F): found from where
    LibreOffice drew the left edges of columns B (the title) and D (the note in D2), and the
    builder's column widths."""
    from clv_xl.template.dashboard import COLUMN_WIDTHS

    left_b = _find(words, "Dashboard")[0][1]
    left_d = _find(words, "Money in")[0][1]
    per_unit = (left_d - left_b) / (COLUMN_WIDTHS["B"] + COLUMN_WIDTHS["C"])
    edge = left_d + (COLUMN_WIDTHS["D"] + COLUMN_WIDTHS["E"]) * per_unit - 1
    return [w for w in words if w[1] > edge]


def _numbers(words) -> list[str]:
    """Words that are numbers, years of the month labels (2026) left out."""
    return [w[5] for w in words
            if re.fullmatch(r"-?[\d,.]+", w[5]) and not re.fullmatch(r"(19|20)\d\d", w[5])]


def test_an_empty_books_charts_draw_no_axis_and_say_why(tmp_path):
    require_soffice()
    book = build_template(tmp_path / "book.xlsx")
    render_png(book, tmp_path / "out", "Dashboard", dpi=30)
    words = pdf_words(tmp_path / "out" / "dashboard.pdf")
    charts = _chart_words(words)
    for title in ("Average CLV by segment", "Clients by risk band", "Revenue by month"):
        _find(charts, title)
    assert _numbers(charts) == [], "an empty chart draws numbers (an axis from 0 to 1?)"
    _find(words, "No clients yet.")


def test_a_filled_books_bars_carry_their_values(tmp_path):
    from clv_xl.book.settings import Settings
    from clv_xl.engine.metrics import client_metrics

    require_soffice()
    data = demo_data()
    book = build_template(tmp_path / "book.xlsx", data)
    render_png(book, tmp_path / "out", "Dashboard", dpi=30)
    words = pdf_words(tmp_path / "out" / "dashboard.pdf")
    metrics = client_metrics(data.clients, data.sessions, data.contacts,
                             Settings(as_of=data.as_of))
    bands = metrics["risk_band"].value_counts()
    numbers = _numbers(_chart_words(words))
    for band in ("Low", "Medium", "High"):
        assert str(bands[band]) in numbers, (band, bands[band], numbers)
    assert "No clients yet." not in " ".join(w[5] for w in words)
