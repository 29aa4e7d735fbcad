"""How long reading a Sessions sheet takes: python-calamine (what clv-xl uses) against openpyxl.

    python bench/read.py [--clients 40000]

Writes a demo book (the demo studio scaled up) to a temporary folder, then reads its Sessions
sheet with each reader in this one run and prints seconds and the ratio.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from openpyxl import load_workbook

from clv_xl.book.io import read_table, write_tables
from clv_xl.demo import demo_data


def timed(action):
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def read_with_openpyxl(path: Path) -> int:
    book = load_workbook(path, read_only=True, data_only=True)
    rows = sum(1 for _ in book["Sessions"].values)
    book.close()
    return rows - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=40_000)
    args = parser.parse_args()
    data = demo_data(n_clients=args.clients)
    with tempfile.TemporaryDirectory() as folder:
        path = write_tables(Path(folder) / "bench.xlsx", {"Sessions": data.sessions})
        calamine_s, (frame, _) = timed(lambda: read_table(path, "Sessions"))
        openpyxl_s, rows = timed(lambda: read_with_openpyxl(path))
    assert rows == len(frame) == len(data.sessions)
    print(f"Sessions rows: {rows:,}")
    print(f"python-calamine (clv_xl.book.io.read_table): {calamine_s:6.2f} s")
    print(f"openpyxl read-only, values only:              {openpyxl_s:6.2f} s")
    print(f"openpyxl / calamine: {openpyxl_s / calamine_s:.1f}x")


if __name__ == "__main__":
    main()
