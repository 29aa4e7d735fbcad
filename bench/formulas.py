"""Benchmark the Excel formulas: one call over a column against single-cell calls.

    python bench/formulas.py [--rows 100000] [--single-calls 100000] [--repeats 3]
                             [--only CLV,P_ALIVE]

For each cell formula of clv_xl.excel.udfs, with ``rows`` rows of realistic inputs (a few
blanks and bad cells among them, as a real sheet has), times in one interleaved loop:

- maths: the engine call alone on float arrays (what the formula computes);
- column: the formula over one-column ranges, as xlwings hands them (lists of rows);
- single: the formula called once per row with single cells, ``rows`` calls (or
  ``--single-calls`` of them, the time scaled to ``rows``: the full run takes ~15 minutes).

Prints, as median (min-max) over the repeats: the column call, its maths, the cost per row
beyond the maths (column - maths, per row), and single / column. The goals of issue 16: at
most 1 us a row beyond the maths, at least 100x faster than single-cell calls.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clv_xl.engine import churn, formulas  # noqa: E402
from clv_xl.engine.models import BetaGeo, GammaGamma, ModifiedBetaGeo, model_clv  # noqa: E402
from clv_xl.excel import udfs  # noqa: E402

BG = dict(r=0.243, alpha=4.414, a=0.793, b=2.426)  # CDNOW, weeks (Fader, Hardie & Lee 2005)
GG = dict(p=6.25, q=3.74, gamma=15.44)
TABLE = [["Parameter", "Estimate"]] + [[k, v] for k, v in {**BG, **GG}.items()] \
    + [["time unit (days)", 7.0]]


def inputs(rows: int, seed: int = 16) -> dict:
    """Float arrays of plausible inputs, one per kind of argument."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(1.0, 78.0, rows)
    recency = age * rng.uniform(0.0, 1.0, rows)
    return dict(
        value=rng.gamma(4.0, 25.0, rows), count=rng.integers(1, 30, rows).astype(float),
        cost=rng.uniform(0.0, 50.0, rows), share=rng.uniform(0.05, 1.0, rows),
        days=rng.integers(0, 200, rows).astype(float),
        interval=rng.integers(7, 60, rows).astype(float),
        frequency=rng.poisson(2.0, rows).astype(float), recency=recency, age=age,
        horizon=np.full(rows, 52.0),
    )


def column(values) -> list:
    """A one-column range as xlwings gives it; every 1000th cell blank."""
    cells = [[v] for v in values.tolist()]
    for i in range(999, len(cells), 1000):
        cells[i][0] = None
    return cells


def cases(data: dict) -> dict:
    """name: (column arguments, single-cell arguments per row, the maths alone)."""
    v, n, c, s = data["value"], data["count"], data["cost"], data["share"]
    d, i = data["days"], data["interval"]
    x, t_x, T, t = data["frequency"], data["recency"], data["age"], data["horizon"]
    bg, mbg, gg = BetaGeo(params=BG), ModifiedBetaGeo(params=BG), GammaGamma(params=GG)
    bgp = tuple(BG.values())
    return {
        "CLV": ((v, n, c, 0.3), lambda: formulas.clv(v, n, c, 0.3)),
        "NET_CLV": ((v, n, c, 0.3), lambda: formulas.net_clv(v, n, c, 0.3)),
        "TLV": ((v, n, c), lambda: formulas.tlv(v, n, c)),
        "RETENTION_CLV": ((v, s * 0.9, 0.1), lambda: formulas.retention_clv(v, s * 0.9, 0.1)),
        "CHURN_RISK": ((d, i, s), lambda: churn.churn_risk(d, i, s)),
        "CHURN_REASON": ((d, i, s), lambda: churn.main_reason(d, i, s)),
        "CHURN_BAND": ((s,), lambda: churn.risk_band(s)),
        "LIFECYCLE_STAGE": ((n, d, i, s),
                            lambda: churn.lifecycle_stage(n, d, i, s)),
        "P_ALIVE": ((x, t_x, T) + bgp, lambda: bg.p_alive(x, t_x, T)),
        "P_ALIVE MBG": ((x, t_x, T) + bgp + ("MBG/NBD",), lambda: mbg.p_alive(x, t_x, T)),
        "EXPECTED_PURCHASES": ((t, x, t_x, T) + bgp,
                               lambda: bg.conditional_expected_purchases(t, x, t_x, T)),
        "P_NO_PURCHASE": ((t, x, t_x, T) + bgp, lambda: bg.prob_no_purchase(t, x, t_x, T)),
        "EXPECTED_SPEND": ((x, v) + tuple(GG.values()),
                           lambda: gg.conditional_expected_average_profit(x, v)),
        "MODEL_CLV": ((x, t_x, T, v, TABLE),
                      lambda: model_clv(bg, gg, x, t_x, T, v, 12, 1.1 ** (1 / 12) - 1, 1.0,
                                        7.0)),
    }


def timed(call) -> tuple[float, float]:
    """(wall, CPU) seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return time.perf_counter() - wall, time.process_time() - cpu


def spread(values, scale=1.0, digits=1) -> str:
    values = [v * scale for v in values]
    return (f"{statistics.median(values):.{digits}f} "
            f"({min(values):.{digits}f}-{max(values):.{digits}f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--single-calls", type=int, default=0,
                        help="time this many single-cell calls and scale to --rows "
                             "(default: all --rows of them)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated formula names")
    options = parser.parse_args()
    rows = options.rows
    calls = options.single_calls or rows
    data = inputs(rows)
    chosen = cases(data)
    if options.only:
        chosen = {k: v for k, v in chosen.items() if k in options.only.split(",")}
    times = {name: {k: [] for k in ("maths", "column", "single", "maths cpu", "column cpu")}
             for name in chosen}
    for repeat in range(options.repeats):
        for name, (args, maths) in chosen.items():
            # Each formula's ranges are made afresh, so the process holds one formula's
            # inputs at a time, as Excel's Python does.
            function = getattr(udfs, name.split()[0])
            columns = [column(a) if isinstance(a, np.ndarray) else a for a in args]
            singles = [a[:calls].tolist() if isinstance(a, np.ndarray) else [a] * calls
                       for a in args]
            if repeat == 0:
                check(name, function(*columns), rows)
            for kind, call in (("maths", maths), ("column", lambda: function(*columns))):
                wall, cpu = timed(call)
                times[name][kind].append(wall)
                times[name][kind + " cpu"].append(cpu)
            times[name]["single"].append(
                timed(lambda: [function(*a) for a in zip(*singles)])[0] * rows / calls)
            del columns, singles
    print(f"{rows:,} rows, {options.repeats} interleaved repeats; median (min-max)"
          + (f"; single-cell calls: {calls:,} timed, scaled to {rows:,}" if calls != rows
             else ""))
    print("beyond maths: (column - maths) per row, wall clock and CPU time of this process; "
          "single / column: wall clock")
    print(f"{'formula':19} {'column ms':>19} {'maths ms':>17} {'us/row beyond':>18} "
          f"{'us/row beyond, CPU':>19} {'single s':>19} {'single / column':>15}")
    for name, t in times.items():
        beyond = [c - m for c, m in zip(t["column"], t["maths"])]
        beyond_cpu = [c - m for c, m in zip(t["column cpu"], t["maths cpu"])]
        ratio = [s / c for s, c in zip(t["single"], t["column"])]
        print(f"{name:19} {spread(t['column'], 1e3):>19} {spread(t['maths'], 1e3):>17} "
              f"{spread(beyond, 1e6 / rows, 2):>18} {spread(beyond_cpu, 1e6 / rows, 2):>19} "
              f"{spread(t['single'], 1, 1):>19} {spread(ratio, 1, 0):>15}")


def check(name, answer, rows) -> None:
    """The column call answers every row, with no message but the blank rows'."""
    assert isinstance(answer, list) and len(answer) == rows, (name, str(answer)[:200])
    wrong = [r[0] for r in answer if isinstance(r[0], str) and ": " in r[0]
             and not r[0].endswith(" is blank")]
    assert not wrong, (name, wrong[:3])


if __name__ == "__main__":
    main()
