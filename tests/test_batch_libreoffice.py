"""After clv-xl recompute, LibreOffice opens the book, recalculates it without an error value,
and Start and the Dashboard show what the batch wrote into Forecast."""

from __future__ import annotations

import shutil
from pathlib import Path

from openpyxl import load_workbook

from libreoffice import recalculate, require_soffice

from clv_xl.cli import main
from clv_xl.template.dashboard import MODEL_ROW
from clv_xl.template.pages import FORECAST_FIGURE_ROW, FORECAST_FIGURES, STATUS_SUMMARY_END

ROOT = Path(__file__).resolve().parents[1]
ERRORS = ("#VALUE!", "#REF!", "#NAME?", "#DIV/0!", "#N/A", "#NUM!", "#NULL!", "Err:")


def test_libreoffice_recalculates_the_recomputed_book(tmp_path):
    require_soffice()
    book = tmp_path / "clv_demo.xlsx"
    shutil.copy(ROOT / "workbook" / "clv_demo.xlsx", book)
    assert main(["recompute", str(book)]) == 0
    status = load_workbook(book)["Forecast"]["A2"].value
    values = load_workbook(recalculate(book, tmp_path / "lo"), data_only=True)
    bad = [f"{ws.title}!{c.coordinate}={c.value}" for ws in values.worksheets
           for row in ws.iter_rows() for c in row
           if isinstance(c.value, str) and c.value.startswith(ERRORS)]
    assert bad == []
    first = status[:status.index(STATUS_SUMMARY_END) + len(STATUS_SUMMARY_END)]
    assert values["Start"]["B3"].value == (
        f"{first} How churn risk and the forecast were made: Forecast sheet, cell A2.")
    dash = values["Dashboard"]
    shown = {dash[f"B{MODEL_ROW + 1 + i}"].value: dash[f"C{MODEL_ROW + 1 + i}"].value
             for i in range(len(FORECAST_FIGURES))}
    assert shown["Clients in the forecast"] == 300
    forecast = values["Forecast"]
    for i, shown_value in enumerate(shown.values()):
        written = forecast[f"B{FORECAST_FIGURE_ROW + i}"].value
        assert (written if written is not None else "") == (shown_value if shown_value
                                                            is not None else "")
