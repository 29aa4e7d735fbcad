"""Malicious and corrupt books: one line on stderr, exit 1, nothing written, the book intact.

The corpus (tests/helpers/hostile_books.py) is made here from a freshly built book, not
committed: entity bombs and external entities in sheets, workbook, styles, rels and content
types; zip members whose size or CRC lies; damaged compressed data; relationships that leave
the package; control characters in styles; files that are no book at all.
"""

from __future__ import annotations

import os
import zipfile

import pytest

from clv_xl.cli import main
from clv_xl.demo import demo_data
from clv_xl.template import build_template
from tests.helpers import hostile_books

CASES = hostile_books.corpus()


@pytest.fixture(scope="module")
def good_book(tmp_path_factory) -> bytes:
    path = build_template(tmp_path_factory.mktemp("good") / "book.xlsx", demo_data(n_clients=20))
    return path.read_bytes()


def _listing(folder) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))}


def test_the_good_book_recomputes(good_book, tmp_path, capsys):
    """The control: the corpus's source book is sound, so each case fails for its own fault."""
    path = tmp_path / "book.xlsx"
    path.write_bytes(good_book)
    assert main(["recompute", str(path)]) == 0
    assert sorted(os.listdir(tmp_path)) == ["book.bak.xlsx", "book.xlsx"]


@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_book_is_one_line_and_nothing_is_written(case, good_book, tmp_path, capsys):
    path = tmp_path / "book.xlsx"
    path.write_bytes(CASES[case](good_book))
    before = _listing(tmp_path)
    assert main(["recompute", str(path)]) == 1
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("clv-xl: error: ") and "Traceback" not in err
    assert len(lines[0]) < 300
    assert _listing(tmp_path) == before  # the book byte-identical, no backup, no temp file


#: Faults only in what recompute writes (styles); reading the input sheets is not hurt.
READABLE = {"control characters in styles", "half of the Forecast XML"}


@pytest.mark.parametrize("case", list(CASES))
def test_summary_of_a_hostile_book_is_one_line(case, good_book, tmp_path, capsys):
    path = tmp_path / "book.xlsx"
    path.write_bytes(CASES[case](good_book))
    before = _listing(tmp_path)
    code = main(["summary", str(path)])
    assert _listing(tmp_path) == before
    if case in READABLE:
        assert code == 0
        return
    assert code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("clv-xl: error: ")


def test_an_entity_is_never_expanded_into_the_output(good_book, tmp_path, capsys):
    """Refusing the DTD is what keeps a local file out: the same book without it computes."""
    path = tmp_path / "book.xlsx"
    path.write_bytes(CASES["external entity in Clients sheet"](good_book))
    assert main(["recompute", str(path), "--out", str(tmp_path / "out.xlsx")]) == 1
    assert "declares a DTD" in capsys.readouterr().err
    assert not (tmp_path / "out.xlsx").exists()


def test_the_corpus_cases_are_really_broken(good_book):
    """Each maker changes the book (a maker that silently did nothing would pass the tests
    above only by accident of another check)."""
    for case, make in CASES.items():
        assert make(good_book) != good_book, case
    lying = CASES["lying size of Sessions"](good_book)
    with zipfile.ZipFile(__import__("io").BytesIO(lying)) as archive:
        info = archive.getinfo(hostile_books.SHEETS["Sessions"])
        assert info.compress_size > 1000 and info.file_size < 100_000
