"""The clv-xl command, run as a user runs it."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook
from openpyxl import load_workbook

from clv_xl import __version__
from clv_xl.batch.outputs import FORECAST_HEADER_ROW
from clv_xl.cli import main
from clv_xl.demo import demo_data
from clv_xl.engine.metrics import client_metrics
from clv_xl.book.settings import Settings


def run(*args):
    return subprocess.run([sys.executable, "-m", "clv_xl.cli", *args], capture_output=True,
                          text=True, timeout=300)


def test_version_and_help():
    assert run("--version").stdout.strip() == f"clv-xl {__version__}"
    assert "demo" in run("--help").stdout


def test_demo_recomputes_its_book_with_the_engine_figures(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--clients", "120"]) == 0
    out = capsys.readouterr().out
    assert "Clients: 120" in out and "CLV by segment" in out and "Last recompute" in out
    data = demo_data(n_clients=120)
    metrics = client_metrics(data.clients, data.sessions, data.contacts,
                             Settings(as_of=data.as_of))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clv_demo.xlsx"]
    book = load_workbook(tmp_path / "clv_demo.xlsx", read_only=True)
    rows = list(book["Forecast"].values)
    header, body = rows[FORECAST_HEADER_ROW - 1], rows[FORECAST_HEADER_ROW:]
    by_id = {r[header.index("Client ID")]: r[header.index("CLV")] for r in body}
    assert [by_id[i] for i in metrics.index] == pytest.approx(metrics["clv"].tolist())


def test_template_builds_the_empty_book_and_the_demo(tmp_path):
    result = run("template", "--out", str(tmp_path), "--demo")
    assert result.returncode == 0, result.stderr
    empty = load_workbook(tmp_path / "clv_template.xlsx")
    demo = load_workbook(tmp_path / "clv_demo.xlsx")
    assert empty["Sessions"].max_row < demo["Sessions"].max_row
    assert "xlwings.conf" in empty.sheetnames
    assert (tmp_path / "clv_template.xlsm").stat().st_size > 0
    assert (tmp_path / "vba" / "ClvRecompute.bas").read_text().count("RunPython") >= 1


def test_summary_of_a_csv_lists_bad_rows_and_computes_the_rest(tmp_path):
    csv = tmp_path / "sessions.csv"
    csv.write_text("Date,Client ID,Package,Amount,Status\n"
                   "2025-01-05,A,Mini,100,Completed\n"
                   "2025-02-05,A,Mini,abc,Completed\n"
                   "2025-06-05,A,Mini,150,Completed\n"
                   "2025-03-05,B,Family,300,Maybe\n")
    out = tmp_path / "summary.csv"
    result = run("summary", str(csv), "--as-of", "2025-12-31", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "sessions.csv row 3, Amount: text 'abc'" in result.stderr
    assert "sessions.csv row 5, Status: 'Maybe' is not one of" in result.stderr
    table = pd.read_csv(out)
    assert table["Client ID"].tolist() == ["A"]
    assert table["Revenue"].tolist() == [250]
    # churn risk is the learned probability, and the report says how it was made
    assert 0.0 <= table["Churn risk"].iloc[0] <= 1.0
    assert "Warning-sign score" in table.columns
    assert "Churn risk (no completed session in 12 months): " in result.stdout


@pytest.mark.parametrize("args, words", [
    (["summary", "missing.csv"], "does not exist"),
    (["summary", "{tmp}/bad.xlsx"], "not an Excel workbook"),
    (["summary", "{tmp}/nocol.csv"], "no column for Amount"),
    (["summary", "{tmp}/nocol.csv", "--as-of", "soon"], "not a date"),
    (["grow", "{tmp}/bad.xlsx"], "not an Excel workbook"),
    (["grow", "{tmp}/foreign.xlsx"], "no sheet named 'Clients'"),
    (["grow", "{tmp}/foreign.xlsx", "--out", "{tmp}/x.csv"], "use the book's extension"),
])
def test_errors_are_one_line_and_a_non_zero_exit(tmp_path, args, words):
    (tmp_path / "bad.xlsx").write_text("not a workbook")
    (tmp_path / "nocol.csv").write_text("Date,Client ID,Status\n2025-01-01,A,Completed\n")
    foreign = Workbook()
    foreign.active.title = "Sheet1"
    foreign.save(tmp_path / "foreign.xlsx")
    result = run(*[a.format(tmp=tmp_path) for a in args])
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("clv-xl: error: ") and words in lines[0]


def _readme_section(title: str) -> str:
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    start = text.index(title)
    end = text.find("\n#", start + len(title))
    return text[start:end if end > 0 else None]


def test_readme_lists_every_command_and_the_input_rules():
    from clv_xl.book.schema import INPUT_SHEETS, STATUSES
    from clv_xl.cli import _parser

    commands = next(a for a in _parser()._actions if a.choices and "demo" in a.choices)
    listed = _readme_section("## The command")
    for name in commands.choices:
        assert f"\nclv-xl {name} " in listed, f"README's command list misses `clv-xl {name}`"
    rules = _readme_section("### Input rules")
    for sheet in INPUT_SHEETS[:2]:  # Clients and Sessions: what a row needs
        for column in sheet.columns:
            if column.required:
                assert f"**{column.header}**" in rules, (sheet.name, column.header)
    assert all(status in rules for status in STATUSES)


def test_template_without_out_writes_to_the_current_folder_with_progress(tmp_path):
    import clv_xl

    package = Path(clv_xl.__file__).resolve().parent
    before = sorted(p.name for p in package.rglob("*.xls*"))
    result = subprocess.run([sys.executable, "-m", "clv_xl.cli", "template"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=600,
                            env={**os.environ, "PYTHONPATH": str(package.parent)})
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "clv_template.xlsm", "clv_template.xlsx", "vba"]
    assert sorted(p.name for p in package.rglob("*.xls*")) == before
    lines = result.stdout.strip().splitlines()
    written = [line for line in lines if line.startswith("Wrote ")]
    assert [Path(line.split()[1]).name for line in written] == [
        "clv_template.xlsx", "clv_template.xlsm", "ClvRecompute.bas"]
    assert all(re.search(r"\(\d+\.\d s\)$", line) for line in written)


def test_a_blank_segment_is_spelled_one_way_in_the_report(tmp_path):
    from clv_xl.book.schema import NO_SEGMENT
    from clv_xl.template.dashboard import OTHER_LABEL

    csv = tmp_path / "sessions.csv"  # a sessions file has no segments: every client is blank
    csv.write_text("Date,Client ID,Amount,Status\n2025-01-05,A,100,Completed\n"
                   "2025-03-05,A,120,Completed\n2025-02-05,B,300,Completed\n")
    result = run("summary", str(csv), "--as-of", "2025-06-30")
    assert result.returncode == 0, result.stderr
    by_segment = result.stdout.split("CLV by segment:")[1].split("Most valuable")[0]
    valuable = result.stdout.split("Most valuable")[1].split("Most at risk")[0]
    assert NO_SEGMENT in by_segment and valuable.count(NO_SEGMENT) == 2
    for other in ("(none)", "None", "NaN", "nan", "No segment", "blank"):
        assert other not in by_segment + valuable, other
    assert OTHER_LABEL.endswith(NO_SEGMENT)  # the Segments sheet's row for them
