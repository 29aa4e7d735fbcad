"""How long LibreOffice takes to recalculate every formula of the template, as the book grows.

    python bench/template.py [--quick] [--sizes 300,3000,10000] [--repeats 3] [--keep DIR]

For each size it builds the demo book (``clv_xl.demo.demo_data(n_clients=...)``; a size
``clients:sessions:contacts`` tops the demo's logs up to those row counts by drawing more of
its own rows), then times ``soffice --convert-to xlsx`` with recalculation on load forced
(tests/libreoffice.py): start, load, recalculate every formula, save. It prints the minimum of
``--repeats`` runs (the median beside it), the pandas engine computing the same per-client
figures (``client_metrics``, minimum of as many runs), their ratio, and the growth exponent
from one size to the next: log(time ratio) / log(rows ratio), rows = clients + sessions +
contacts (1 = linear). The first run of each size also checks that the book's total CLV equals
the engine's.

``--quick`` runs 100, 300 and 1,000 clients. The machine's load shows in single runs; compare
minimums.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from clv_xl.book.settings import Settings  # noqa: E402
from clv_xl.demo import demo_data  # noqa: E402
from clv_xl.engine.metrics import client_metrics  # noqa: E402
from clv_xl.template import build_template  # noqa: E402
from clv_xl.template.dashboard import KPI_FIRST_ROW, KPIS  # noqa: E402
from libreoffice import recalculate, soffice  # noqa: E402

SIZES = "300,3000,10000"
QUICK = "100,300,1000"


def book_data(spec: str):
    """The demo studio at ``clients[:sessions:contacts]``."""
    parts = [int(p) for p in spec.split(":")]
    data = demo_data(n_clients=parts[0])
    rng = np.random.default_rng(parts[0])
    frames = {}
    for name, target in zip(("sessions", "contacts"), parts[1:]):
        frame = getattr(data, name)
        if target > len(frame):
            extra = frame.iloc[rng.integers(0, len(frame), target - len(frame))]
            frame = pd.concat([frame, extra], ignore_index=True)
        frames[name] = frame
    return dataclasses.replace(data, **frames)


def cpu_of_children() -> float:
    """CPU seconds used so far by finished child processes (LibreOffice)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_libreoffice(book: Path, out: Path, repeats: int):
    """(wall seconds per run, CPU seconds per run, the recalculated book)."""
    walls, cpus, result = [], [], None
    for i in range(repeats):
        cpu, start = cpu_of_children(), time.perf_counter()
        result = recalculate(book, out / f"run{i}")
        walls.append(time.perf_counter() - start)
        cpus.append(cpu_of_children() - cpu)
    return walls, cpus, result


def time_engine(data, repeats: int) -> tuple[list[float], pd.DataFrame]:
    times, metrics = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        metrics = client_metrics(data.clients, data.sessions, data.contacts,
                                 Settings(as_of=data.as_of))
        times.append(time.perf_counter() - start)
    return times, metrics


def total_clv(path: Path) -> float:
    from openpyxl import load_workbook

    wb = load_workbook(path, data_only=True, read_only=True)
    row = KPI_FIRST_ROW + [label for label, *_ in KPIS].index("Total CLV")
    return wb["Dashboard"][f"C{row}"].value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=None, help=f"comma-separated (default {SIZES})")
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK}")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="keep the books in this folder")
    args = parser.parse_args(argv)
    if soffice() is None:
        print("LibreOffice (soffice) is not installed", file=sys.stderr)
        return 1
    specs = (args.sizes or (QUICK if args.quick else SIZES)).split(",")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        for spec in specs:
            data = book_data(spec)
            n = (len(data.clients), len(data.sessions), len(data.contacts))
            book = build_template(folder / f"clv_{spec.replace(':', '_')}.xlsx", data)
            lo, cpu, recalculated = time_libreoffice(book, folder / "out", args.repeats)
            engine, metrics = time_engine(data, args.repeats)
            clv_book, clv_engine = total_clv(recalculated), float(metrics["clv"].sum())
            same = abs(clv_book - clv_engine) < 0.005 * len(metrics)
            rows.append((n, lo, cpu, engine, same))
            print(f"  {n[0]:,} clients: LibreOffice {min(lo):.1f} s (runs "
                  f"{', '.join(f'{t:.1f}' for t in lo)}; CPU {min(cpu):.1f} s); total CLV "
                  f"book {clv_book:,.2f}, engine {clv_engine:,.2f}", flush=True)
    print()
    print("| clients | sessions | contacts | LibreOffice full recalculation: wall, min "
          "(median) | its CPU time, min | engine | ratio (wall / engine) | exponent (wall, "
          "CPU) |")
    print("|---|---|---|---|---|---|---|---|")
    previous = None
    for n, lo, cpu, engine, same in rows:
        size, t, c = sum(n), min(lo), min(cpu)
        exponent = "" if previous is None else (
            f"{math.log(t / previous[1]) / math.log(size / previous[0]):.2f}, "
            f"{math.log(c / previous[2]) / math.log(size / previous[0]):.2f}")
        print(f"| {n[0]:,} | {n[1]:,} | {n[2]:,} | {t:.1f} s ({statistics.median(lo):.1f} s) "
              f"| {c:.1f} s | {min(engine) * 1000:.0f} ms | {t / min(engine):,.0f}x "
              f"| {exponent} |")
        previous = (size, t, c)
    if len(rows) > 1:
        sizes = np.log([sum(n) for n, *_ in rows])
        for label, column in (("wall", 1), ("CPU", 2)):
            times = np.log([min(row[column]) for row in rows])
            print(f"exponent over all sizes ({label}, least squares on logs): "
                  f"{np.polyfit(sizes, times, 1)[0]:.2f}")
    if not all(same for *_, same in rows):
        print("the book's total CLV differs from the engine's", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
