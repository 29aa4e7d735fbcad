"""Benchmark fits and predictions with BLAS held at one thread against the default pool.

    python bench/threads.py [--clients 200000] [--repeats 5] [--load]

Draws ``clients`` BG/NBD histories (daily ages over three years, in weeks: tens of thousands
of distinct rows), then in one interleaved loop times, with the limit of
clv_xl.engine.models._threads on (one BLAS thread, the default) and off (OpenBLAS's own
pool, one thread per core):

- the weighted BG/NBD fit on the distinct rows and the Gamma-Gamma fit;
- P(alive), expected purchases over 52 weeks and the 12-month model CLV for every client.

``--load`` runs a busy process on one core meanwhile, as Excel or another recompute would.
Prints median (min-max) seconds per stage and the ratio pool / one thread.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clv_xl.engine.models import BetaGeo, GammaGamma, compress, model_clv  # noqa: E402
from clv_xl.engine.models import _threads  # noqa: E402

TRUE = dict(r=0.243, alpha=4.414, a=0.793, b=2.426)  # CDNOW's estimates (weeks)


def histories(clients: int, seed: int = 16):
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 3 * 365, clients) / 7.0
    x, t_x = BetaGeo(params=TRUE).sample(T, seed=seed)
    t_x = np.round(t_x * 7.0) / 7.0  # whole days, as from a sessions sheet
    spend = np.where(x > 0, rng.gamma(6.0, 8.0, clients), 0.0)
    return x, t_x, T, spend


def busy(stop) -> None:
    """Keep one core busy until ``stop`` is set."""
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def stages(x, t_x, T, spend, data) -> dict:
    bg = BetaGeo().fit(data.frequency, data.recency, data.T, weights=data.weights)
    repeat = x > 0
    gg = GammaGamma().fit(x[repeat], spend[repeat])
    return {
        "BG/NBD fit": lambda: BetaGeo().fit(data.frequency, data.recency, data.T,
                                            weights=data.weights),
        "Gamma-Gamma fit": lambda: GammaGamma().fit(x[repeat], spend[repeat]),
        "P(alive), no BLAS": lambda: bg.p_alive(x, t_x, T),  # the same code both ways: noise
        "expected purchases": lambda: bg.conditional_expected_purchases(52.0, x, t_x, T),
        "model CLV 12 months": lambda: model_clv(bg, gg, x, t_x, T, spend, 12, 0.008, 1.0,
                                                 7.0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--load", action="store_true", help="a busy process on one core")
    options = parser.parse_args()
    x, t_x, T, spend = histories(options.clients)
    data = compress(x, t_x, T)
    work = stages(x, t_x, T, spend, data)
    stop = multiprocessing.Event()
    loader = multiprocessing.Process(target=busy, args=(stop,)) if options.load else None
    if loader:
        loader.start()
    times = {(name, mode): [] for name in work for mode in ("one", "pool")}
    try:
        modes = [("one", 1), ("pool", None)]
        for repeat in range(options.repeats):
            for name, run in work.items():
                for mode, threads in modes[::1 if repeat % 2 == 0 else -1]:  # alternate first
                    _threads.BLAS_THREADS = threads
                    start = time.perf_counter()
                    run()
                    times[name, mode].append(time.perf_counter() - start)
    finally:
        _threads.BLAS_THREADS = 1
        if loader:
            stop.set()
            loader.join()
    print(f"{options.clients:,} clients, {len(data.weights):,} distinct rows; "
          f"{options.repeats} interleaved repeats"
          + ("; a busy process on one core" if options.load else "")
          + "; median (min-max) ms")
    print(f"{'stage':22} {'one BLAS thread':>22} {'default pool':>22} {'pool / one':>18}")
    for name in work:
        one, pool = times[name, "one"], times[name, "pool"]
        ratio = [p / o for p, o in zip(pool, one)]
        print(f"{name:22} {spread(one, 1e3, 1):>22} {spread(pool, 1e3, 1):>22} "
              f"{spread(ratio, 1, 2):>18}")


def spread(values, scale, digits) -> str:
    values = [v * scale for v in values]
    return (f"{statistics.median(values):.{digits}f} "
            f"({min(values):.{digits}f}-{max(values):.{digits}f})")


if __name__ == "__main__":
    main()
