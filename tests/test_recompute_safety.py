"""Recompute against its own kind: two runs at once, a backup that cannot be made, a run
killed halfway, and a book shared with colleagues (its file mode).

Runs go through real processes (``python -m clv_xl.cli``) where the operating system's
behaviour is the point: locks are per process and signals reach a process.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from clv_xl.batch.run_lock import RunLock, lock_path
from clv_xl.cli import main
from clv_xl.demo import demo_data
from clv_xl.template import build_template

ROOT = Path(__file__).resolve().parents[1]
INPUT_PARTS = ("xl/worksheets/sheet3.xml", "xl/worksheets/sheet4.xml", "xl/worksheets/sheet5.xml")


@pytest.fixture(scope="module")
def master(tmp_path_factory):
    return build_template(tmp_path_factory.mktemp("master") / "book.xlsx",
                          demo_data(n_clients=40)).read_bytes()


@pytest.fixture
def book(master, tmp_path):
    path = tmp_path / "book.xlsx"
    path.write_bytes(master)
    return path


def cli(*args, wait: float | None = None) -> subprocess.Popen:
    """``clv-xl ARGS`` in a new process (``wait``: the lock's waiting time, in seconds)."""
    code = ("import sys\nimport clv_xl.batch.run_lock as lock\n"
            + (f"lock.WAIT_SECONDS = {wait}\n" if wait is not None else "")
            + "from clv_xl.cli import main\nsys.exit(main(sys.argv[1:]))")
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(process: subprocess.Popen, text: str, timeout: float = 60) -> str:
    """Read the process's stderr until a line contains ``text``."""
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        seen += line
        if text in line:
            return seen
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"never printed {text!r}: {seen!r}")


def parts(path, names=INPUT_PARTS) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in names}


def leftovers(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.startswith("."))


def test_a_second_run_waits_for_the_first_and_backs_up_its_result(book):
    original = book.read_bytes()
    first = RunLock(book)
    first.acquire()  # a first run, holding the book
    second = cli("recompute", book, wait=60)
    wait_for(second, "waiting for another recompute of book.xlsx")
    assert book.read_bytes() == original
    assert not book.with_name("book.bak.xlsx").exists()
    first.release()
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert book.with_name("book.bak.xlsx").read_bytes() == original
    assert leftovers(book.parent) == []  # no lock file, no temporary file


def test_a_second_run_refuses_when_the_first_takes_too_long(book):
    original = book.read_bytes()
    first = RunLock(book)
    first.acquire()
    try:
        second = cli("recompute", book, wait=1)
        out, err = second.communicate(timeout=120)
    finally:
        first.release()
    assert second.returncode == 1
    assert err.strip().splitlines()[-1] == (
        "clv-xl: error: another recompute of book.xlsx is running (waited 1 s): run again "
        "when it has finished")
    assert book.read_bytes() == original
    assert sorted(os.listdir(book.parent)) == ["book.xlsx"]


def test_two_runs_started_together_both_finish_and_lose_nothing(book):
    original = parts(book)
    runs = [cli("recompute", book), cli("recompute", book)]
    results = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], results
    # one ran after the other: its backup is the first one's result, a sound book whose
    # input sheets are the original's, byte for byte
    assert parts(book) == original
    assert parts(book.with_name("book.bak.xlsx")) == original
    assert leftovers(book.parent) == []


def test_a_lock_left_by_a_killed_run_does_not_block(book):
    """kill -9 ends the process and the OS lets go of its lock; its lock file stays but
    means nothing."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom clv_xl.batch.run_lock import RunLock\n"
         f"lock = RunLock(__import__('pathlib').Path({str(book)!r}))\nlock.acquire()\n"
         "print('held', "
         "flush=True)\ntime.sleep(600)"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait()
    assert lock_path(book).exists()
    assert main(["recompute", str(book)]) == 0
    assert leftovers(book.parent) == []


def test_sigterm_while_waiting_stops_with_one_line(book):
    first = RunLock(book)
    first.acquire()
    try:
        second = cli("recompute", book, wait=60)
        wait_for(second, "waiting for another recompute")
        second.send_signal(signal.SIGTERM)
        out, err = second.communicate(timeout=60)
    finally:
        first.release()
    assert second.returncode == 143
    assert err.strip().splitlines() == [
        "clv-xl: terminated: stopped; a book being written was left as it was"]


def test_temporary_files_of_a_killed_run_are_removed_by_the_next(book):
    stale = [book.with_name(".book.xlsx.clv-k9x2a.tmp"), book.with_name(".book.xlsx.clv-bak.tmp")]
    for path in stale:
        path.write_bytes(b"x" * 1000)
    other = book.with_name(".other.xlsx.clv-k9x2a.tmp")  # another book's: not ours to remove
    other.write_bytes(b"y")
    assert main(["recompute", str(book)]) == 0
    assert leftovers(book.parent) == [other.name]


def test_a_folder_in_the_way_of_the_backup_changes_nothing(book, capsys):
    original = book.read_bytes()
    book.with_name("book.bak.xlsx").mkdir()
    assert main(["recompute", str(book)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "book.bak.xlsx" in err[0] and "Nothing was changed" in err[0]
    assert book.read_bytes() == original
    assert book.with_name("book.bak.xlsx").is_dir()
    assert leftovers(book.parent) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("mode", [0o644, 0o664, 0o640, 0o600])
def test_the_book_keeps_its_mode(book, mode):
    book.chmod(mode)
    owner = book.stat().st_uid, book.stat().st_gid
    assert main(["recompute", str(book)]) == 0
    for path in (book, book.with_name("book.bak.xlsx")):
        assert stat.S_IMODE(path.stat().st_mode) == mode, path.name
        assert (path.stat().st_uid, path.stat().st_gid) == owner


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_an_imported_book_keeps_its_mode(book, tmp_path):
    export = tmp_path / "export.csv"
    export.write_text("Date,Client ID,Amount,Status\n2026-01-05,NEW-1,120,Completed\n")
    book.chmod(0o640)
    before = book.read_bytes()
    assert main(["import", str(export), "--into", str(book)]) == 0
    assert book.read_bytes() != before  # written, not left alone
    for path in (book, book.with_name("book.bak.xlsx")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path.name


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_out_to_a_new_file_gets_the_mode_of_a_new_file(book, tmp_path):
    mask = os.umask(0o022)
    try:
        assert main(["recompute", str(book), "--out", str(tmp_path / "copy.xlsx")]) == 0
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "copy.xlsx").stat().st_mode) == 0o644
