"""What LibreOffice draws on Start: every text shows in full, and none runs into the heading
below it (the recompute's status line among them). The book is printed to PDF and the words
are found where LibreOffice put them (pdftotext), not where we meant them to be."""

from __future__ import annotations

import datetime as dt

import pytest

from clv_xl.batch.file_book import write_outputs
from clv_xl.batch.outputs import Outputs, forecast_grid, issues_grid, status_line
from clv_xl.book.layout import FORECAST_HEADERS, ISSUES_HEADERS, STATUS_SUMMARY_END
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
