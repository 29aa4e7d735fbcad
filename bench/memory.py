"""Peak memory of every Excel formula over a long range, as xlwings would call it.

    python bench/memory.py [--rows 1000000] [--only MODEL_CLV,P_ALIVE]

For each formula in the registry, a child process (one after the other) builds the arguments
as xlwings hands a column range to a formula (a list of one-element rows of Python floats;
for CLV_SUMMARY and CLV_FIT a sessions range with its header, one session a row), notes its
peak resident memory (VmHWM), calls the formula once, and notes the peak again. It prints the
memory of the arguments themselves (what Excel's process holds anyway), the extra peak of the
call, per row, and the seconds. The extra peak is what the formula costs: target, a few
hundred MB at 1,000,000 rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import inspect
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from recompute import peak_mb  # noqa: E402  (one reading of the peak for every bench)

PARAMETERS = [["Parameter", "Estimate"], ["r", 0.5], ["alpha", 4.0], ["a", 0.8], ["b", 2.5],
              ["p", 6.0], ["q", 4.0], ["gamma", 15.0], ["time unit (days)", 7.0]]
#: A plausible column for each per-cell argument name (others: a number from 0 to 1).
COLUMNS = {
    "frequency": lambda rng, n: rng.integers(0, 10, n).astype(float),
    "age": lambda rng, n: rng.uniform(60, 100, n),
    "recency": lambda rng, n: rng.uniform(0, 60, n),
    "horizon": lambda rng, n: np.full(n, 52.0),
    "monetary_value": lambda rng, n: rng.uniform(10, 100, n),
    "avg_order_value": lambda rng, n: rng.uniform(10, 100, n),
    "avg_sale": lambda rng, n: rng.uniform(10, 100, n),
    "purchases": lambda rng, n: rng.integers(1, 10, n).astype(float),
    "purchases_per_period": lambda rng, n: rng.integers(1, 10, n).astype(float),
    "periods": lambda rng, n: rng.integers(1, 10, n).astype(float),
    "days_since": lambda rng, n: rng.uniform(0, 400, n),
    "usual_interval": lambda rng, n: rng.uniform(10, 200, n),
    "completed": lambda rng, n: rng.integers(0, 10, n).astype(float),
    "margin_per_period": lambda rng, n: rng.uniform(10, 100, n),
    "acquisition_cost": lambda rng, n: rng.uniform(0, 50, n),
}


def reset_peak() -> None:
    """Start VmHWM afresh from the current RSS (Linux: write 5 to clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def arguments(name: str, n: int):
    from clv_xl.excel import args as excel_args
    from clv_xl.excel import udfs  # noqa: F401 - fills the registry
    from clv_xl.excel.function import REGISTRY

    rng = np.random.default_rng(1)
    entry = REGISTRY[name]
    out = []
    for param in inspect.signature(entry.function).parameters.values():
        spec = entry.args[param.name]
        if isinstance(spec, excel_args.SessionsRange):
            out.append(sessions(rng, n))
        elif isinstance(spec, excel_args.DateArg):
            out.append(dt.datetime(2026, 6, 30))
        elif isinstance(spec, excel_args.ModelParameter):
            if param.default is inspect.Parameter.empty:
                out.append(PARAMETERS)
            else:
                break  # the table in the first parameter: the rest left out
        elif isinstance(spec, excel_args.Number):
            if param.default is not inspect.Parameter.empty:
                break
            make = COLUMNS.get(param.name, lambda rng, n: rng.uniform(0, 1, n))
            out.append([[float(v)] for v in make(rng, n)])
        else:
            break
    return out


def sessions(rng, n: int) -> list[list]:
    clients = max(n // 10, 1)
    days = rng.integers(0, 3 * 365, n)
    start = dt.datetime(2023, 7, 1)
    dates = [start + dt.timedelta(days=int(d)) for d in days]
    ids = [f"C{i:07d}" for i in rng.integers(0, clients, n)]
    amounts = rng.uniform(20, 200, n)
    return [["Date", "Client ID", "Amount", "Status"]] + [
        [d, c, float(a), "Completed"] for d, c, a in zip(dates, ids, amounts)]


def child(name: str, n: int) -> dict:
    from clv_xl.excel import udfs

    start = peak_mb()
    args = arguments(name, n)
    reset_peak()
    held = peak_mb()
    clock = time.perf_counter()
    result = getattr(udfs, name)(*args)
    seconds = time.perf_counter() - clock
    peak = peak_mb()
    first = result if isinstance(result, str) else (result[0][:3] if isinstance(result, list)
                                                    else result)
    return {"name": name, "rows": n, "python_mb": start, "arguments_mb": held - start,
            "extra_peak_mb": peak - held, "seconds": seconds, "first": str(first)[:60]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--only", default="")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]))))
        return
    from clv_xl.excel import udfs  # noqa: F401 - fills the registry
    from clv_xl.excel.function import REGISTRY

    names = [n for n in REGISTRY if not args.only or n in args.only.split(",")]
    print(f"{'formula':20s} {'rows':>9s} {'args MB':>8s} {'extra peak MB':>14s} "
          f"{'bytes/row':>10s} {'seconds':>8s}  first answer")
    for name in names:
        done = subprocess.run([sys.executable, __file__, "--child", name, str(args.rows)],
                              capture_output=True, text=True)
        if done.returncode:
            print(f"{name:20s} failed: {done.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{name:20s} {r['rows']:>9,} {r['arguments_mb']:>8.0f} {r['extra_peak_mb']:>14.0f} "
              f"{r['extra_peak_mb'] * 2**20 / r['rows']:>10,.0f} {r['seconds']:>8.1f}  "
              f"{r['first']}")


if __name__ == "__main__":
    main()
