"""How long ``clv-xl recompute`` takes, against the fastest plain read of the same book.

    python bench/recompute.py [--sizes 1000:10000,10000:100000,100000:1000000] [--repeats 3]
                              [--keep DIR]

For each size (clients:sessions) it makes a synthetic book: the empty template, its Clients,
Sessions and Contacts sheets filled with a vectorised synthetic log (values only, as a book
whose computed columns were never calculated; about 1% of the session rows carry errors). The
Completed sessions follow the BG/NBD generative process (r=0.5, a=0.8, b=2.5 in weeks, alpha
set to give about 86% of the sessions: ``BetaGeo.sample`` turned into dated sessions), so the
forecast stage fits a model that converges, as on a real book.

Then, ``--repeats`` times, interleaved (the order turns each repeat, so that a busy moment of
the machine does not fall on one of them only), each in a child process of its own:

- the fastest plain read available to Python: fastexcel (Rust, calamine) loads Settings,
  Clients, Sessions and Contacts and hands each over as Arrow (the Arrow C data interface),
  nothing else; skipped if fastexcel is not installed;
- the plain python-calamine read: the same four sheets to Python lists (``to_python``), as
  clv-xl reads them, with Python's cycle collector paused as the recompute runs;
- the recompute: ``clv_xl.batch.pipeline.recompute`` on a ``FileBook`` (read, validate,
  compute, forecast, write: the book replaced atomically, with a backup), on a fresh copy.

It prints min/median/max of each over the repeats, the stages of the median recompute, the
peak memory (VmHWM) of each child, and the ratio recompute / plain read of each repeat
(min/median/max), against both reads. Issue 16's goal: at most 1.5x the fastest plain read at
1,000,000 sessions, at most 3x at 10,000.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

AS_OF = pd.Timestamp("2026-06-30")
INPUT_SHEETS = ("Settings", "Clients", "Sessions", "Contacts")


def synthetic(n_clients: int, n_sessions: int, seed: int = 7):
    """(clients, sessions, contacts) as lists of rows under the schema headers."""
    from clv_xl.book.schema import CLIENTS, CONTACTS, SEGMENTS, SESSIONS

    rng = np.random.default_rng(seed)
    ids = np.char.add("C", np.char.zfill(np.arange(1, n_clients + 1).astype(str), 6))
    first = AS_OF - pd.to_timedelta(rng.integers(30, 3 * 365, n_clients), unit="D")
    clients = pd.DataFrame({
        "Client ID": ids, "Name": np.char.add("Client ", ids),
        "Segment": rng.choice(SEGMENTS, n_clients), "First contact": first,
        "Channel": rng.choice(["Website", "Instagram", "Referral"], n_clients),
        "Acquisition cost": np.round(rng.gamma(2.0, 20.0, n_clients), 2),
        "Referred by": None, "Notes": None})
    # sessions: Completed ones drawn from the BG/NBD generative process (Fader, Hardie & Lee
    # 2005; weeks, first session on the first contact), so the forecast stage fits a model
    # that can be fitted; a few cancelled, rescheduled or booked ahead fill up to n_sessions
    T = (AS_OF - first).days.to_numpy() / 7.0
    frequency, recency = bgnbd_sample(T, 0.86 * n_sessions / n_clients - 1.0, rng)
    x = frequency.astype(int)
    completed = n_clients + int(x.sum())
    if completed > n_sessions:  # only when the sizes ask for under one session per client
        raise ValueError(f"{n_sessions:,} sessions are too few for {n_clients:,} clients")
    repeat_of = np.repeat(np.arange(n_clients), x)
    weeks = rng.random(len(repeat_of)) * recency[repeat_of]  # x - 1 uniform on (0, t_x) ...
    weeks[np.cumsum(x)[x > 0] - 1] = recency[x > 0]  # ... and the x-th at t_x
    n_other = n_sessions - completed
    other_of = rng.integers(0, n_clients, n_other)
    who = np.concatenate([np.arange(n_clients), repeat_of, other_of])
    offset = np.concatenate([np.zeros(n_clients), weeks * 7.0,
                             rng.random(n_other) * T[other_of] * 7.0])
    date = first[who] + pd.to_timedelta(offset.astype(int), unit="D")
    status = np.concatenate([np.full(completed, "Completed", dtype=object),
                             rng.choice(["Cancelled", "Rescheduled", "Booked"], n_other,
                                        p=[0.5, 0.3, 0.2]).astype(object)])
    booked = status == "Booked"
    date = date.where(~booked, AS_OF + pd.to_timedelta(rng.integers(1, 60, n_sessions), "D"))
    amount = np.where(status == "Completed", np.round(rng.gamma(3.0, 80.0, n_sessions), 2), 0.0)
    sessions = pd.DataFrame({"Date": date, "Client ID": ids[who],
                             "Package": rng.choice(["Mini", "Family", "Wedding"], n_sessions),
                             "Amount": amount.astype(object), "Status": status})
    sessions = sessions.sort_values("Date", kind="stable").reset_index(drop=True)
    bad = rng.choice(n_sessions, n_sessions // 100, replace=False)
    sessions.loc[bad[0::3], "Amount"] = "n/a"
    sessions.loc[bad[1::3], "Client ID"] = "X-unknown"
    sessions.loc[bad[2::3], "Status"] = "Done"
    n_contacts = n_sessions // 4
    to = rng.integers(0, n_clients, n_contacts)
    direction = rng.choice(["Out", "In"], n_contacts, p=[0.7, 0.3])
    contacts = pd.DataFrame({
        "Date": AS_OF - pd.to_timedelta(rng.integers(0, 3 * 365, n_contacts), unit="D"),
        "Client ID": ids[to], "Channel": rng.choice(["Email", "Phone"], n_contacts),
        "Direction": direction,
        "Replied": np.where(direction == "Out", rng.choice(["Yes", "No"], n_contacts), None)})
    frames = {CLIENTS.name: clients, SESSIONS.name: sessions, CONTACTS.name: contacts}
    for sheet in (CLIENTS, SESSIONS, CONTACTS):
        assert list(frames[sheet.name].columns) == sheet.headers
    return frames


def bgnbd_sample(T: np.ndarray, mean_repeats: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """(frequency, recency) in weeks from ``BetaGeo.sample`` with r=0.5, a=0.8, b=2.5 and alpha
    chosen (by bisection on a log scale) so clients make about ``mean_repeats`` repeat
    sessions each."""
    from clv_xl.engine.models import BetaGeo

    seed = int(rng.integers(2**31))

    def draw(alpha):
        return BetaGeo.from_params(r=0.5, alpha=alpha, a=0.8, b=2.5,
                                   time_unit_days=7.0).sample(T, seed=seed)

    low, high = np.log(1e-3), np.log(1e3)  # a smaller alpha: more sessions
    for _ in range(30):
        middle = (low + high) / 2
        if draw(np.exp(middle))[0].mean() > mean_repeats:
            low = middle
        else:
            high = middle
    return draw(np.exp((low + high) / 2))


def make_book(path: Path, n_clients: int, n_sessions: int) -> Path:
    """The template with the synthetic tables written into its input sheets."""
    from clv_xl.batch.file_book import write_outputs
    from clv_xl.template import build_template

    empty = build_template(path.with_name("empty.xlsx"), as_of=AS_OF.date())
    grids = {}
    for name, frame in synthetic(n_clients, n_sessions).items():
        columns = {c: (frame[c].dt.to_pydatetime() if str(frame[c].dtype).startswith("datetime")
                       else frame[c].to_numpy(object)) for c in frame.columns}
        rows = [list(r) for r in zip(*columns.values())]
        grids[name] = [list(frame.columns), *rows]
    write_outputs(empty, grids, out=path)
    return path


def child_read(path: str) -> dict:
    """python-calamine: the four input sheets to Python lists (the collector paused)."""
    from python_calamine import CalamineWorkbook

    gc.disable()
    start = time.perf_counter()
    book = CalamineWorkbook.from_path(path)
    rows = {name: len(book.get_sheet_by_name(name).to_python(skip_empty_area=False))
            for name in INPUT_SHEETS}
    return {"seconds": time.perf_counter() - start, "rows": rows}


def child_fastexcel(path: str) -> dict:
    """fastexcel: the four input sheets loaded and exported as Arrow (C data interface)."""
    import fastexcel

    gc.disable()
    start = time.perf_counter()
    reader = fastexcel.read_excel(path)
    rows = {}
    for name in INPUT_SHEETS:
        sheet = reader.load_sheet(name, header_row=None)
        sheet.__arrow_c_array__()  # the columns as Arrow arrays, what pyarrow would wrap
        rows[name] = sheet.height
    return {"seconds": time.perf_counter() - start, "rows": rows}


def child_recompute(path: str) -> dict:
    from clv_xl.batch.file_book import FileBook
    from clv_xl.batch.pipeline import recompute

    start = time.perf_counter()
    outputs = recompute(FileBook(path))
    return {"seconds": time.perf_counter() - start, "stages": outputs.timings,
            "counts": outputs.counts, "model": outputs.figures[-1][1]}


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from the
    parent across exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(kind: str, path: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", kind, str(path)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def has_fastexcel() -> bool:
    try:
        import fastexcel  # noqa: F401
    except ImportError:
        return False
    return True


def spread(values) -> str:
    """median (min-max)."""
    values = sorted(values)
    return f"{np.median(values):.2f} ({values[0]:.2f}-{values[-1]:.2f})"


def measure(book: Path, folder: Path, repeats: int) -> None:
    """The interleaved runs of one book, and what they print."""
    kinds = (["fastexcel"] if has_fastexcel() else []) + ["read", "recompute"]
    runs: dict[str, list[dict]] = {kind: [] for kind in kinds}
    for repeat in range(repeats):
        turn = repeat % len(kinds)
        for kind in kinds[turn:] + kinds[:turn]:
            if kind != "recompute":
                runs[kind].append(run_child(kind, book))
                continue
            # the recompute replaces the book it is given: give it a copy, so that every
            # run (and a kept book) is measured as made (values only)
            scratch = folder / "scratch" / book.name
            scratch.parent.mkdir(exist_ok=True)
            shutil.copyfile(book, scratch)
            try:
                runs[kind].append(run_child("recompute", scratch))
            finally:
                shutil.rmtree(scratch.parent, ignore_errors=True)
    work = runs["recompute"]
    seconds = {kind: [r["seconds"] for r in found] for kind, found in runs.items()}
    names = {"fastexcel": "plain read, fastexcel to Arrow:", "read":
             "plain read, python-calamine:", "recompute": "recompute, whole:"}
    print(f"  {repeats} interleaved repeats; seconds as median (min-max)")
    for kind in kinds:
        peak = max(r["peak_mb"] for r in runs[kind])
        print(f"  {names[kind]:32s} {spread(seconds[kind]):>22s} s   peak {peak:6.0f} MB")
    median = sorted(work, key=lambda r: r["seconds"])[len(work) // 2]
    print("    median run: " + "  ".join(f"{k} {v:.2f} s" for k, v in median["stages"].items()))
    counts = median["counts"]
    print(f"    {counts['clients_computed']:,} clients computed, {counts['errors']:,} "
          f"rows left out, {counts['warnings']:,} warnings; model: {median['model']}")
    for kind in kinds[:-1]:
        ratios = [w / r for w, r in zip(seconds["recompute"], seconds[kind])]
        print(f"  recompute / {names[kind][:-1]}: {spread(ratios)}x (each repeat's pair)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000:10000,10000:100000,100000:1000000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep the books in this folder")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, path = args.child
        result = {"read": child_read, "fastexcel": child_fastexcel,
                  "recompute": child_recompute}[kind](path)
        result["peak_mb"] = peak_mb()
        print(json.dumps(result, default=str))
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="clv-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        for size in args.sizes.split(","):
            n_clients, n_sessions = (int(v) for v in size.split(":"))
            book = folder / f"bench_{n_clients}_{n_sessions}.xlsx"
            start = time.perf_counter()
            if not book.exists():  # --keep DIR: a second run reuses the books
                make_book(book, n_clients, n_sessions)
            made = time.perf_counter() - start
            print(f"\n{n_clients:,} clients, {n_sessions:,} sessions: {book.name} "
                  f"{book.stat().st_size / 1e6:.1f} MB (made in {made:.0f} s)")
            measure(book, folder, args.repeats)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
