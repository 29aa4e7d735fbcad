"""Benchmark the BG/NBD and Gamma-Gamma fits, side by side with lifetimes.

    python bench/models.py [--skip-lifetimes] [--clients 1000000]

Times our fits on CDNOW (2,357 clients) and on a synthetic set drawn from the
BG/NBD process. For the comparison, lifetimes 0.11.3 (which needs pandas<2,
numpy<2) is installed into its own venv under the system temp directory and
run in a subprocess on the same CDNOW file; both sets of parameters are scored
with the same log-likelihood function (ours) so the numbers are comparable.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clv_xl.models import BetaGeo, GammaGamma  # noqa: E402

LIFETIMES_VENV = Path(tempfile.gettempdir()) / "clv-xl-bench-lifetimes"
LIFETIMES_PINS = ["lifetimes==0.11.3", "pandas==1.5.3", "numpy==1.26.4", "scipy==1.11.4", "autograd", "dill"]

LIFETIMES_SCRIPT = """
import json, sys, time
import pandas as pd
from lifetimes import BetaGeoFitter
data = pd.read_csv(sys.argv[1])
times = []
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    fitter = BetaGeoFitter().fit(data["frequency"], data["recency"], data["T"])
    times.append(time.perf_counter() - start)
print(json.dumps({"seconds": times, "params": {k: float(v) for k, v in fitter.params_.items()}}))
"""


def cdnow_folder() -> Path | None:
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "datasets"
    return folder if (folder / "cdnow_customers_summary.csv").exists() else None


def best_of(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def lifetimes_python() -> Path | None:
    python = LIFETIMES_VENV / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    if python.exists():
        return python
    print(f"creating venv {LIFETIMES_VENV} and installing {' '.join(LIFETIMES_PINS)} ...")
    venv.create(LIFETIMES_VENV, with_pip=True)
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", *LIFETIMES_PINS],
                          capture_output=True, text=True)
    if done.returncode != 0:
        print("could not install lifetimes:", done.stderr.strip().splitlines()[-1:])
        return None
    return python


def run_lifetimes(summary_csv: Path, repeats: int) -> dict | None:
    python = lifetimes_python()
    if python is None:
        return None
    done = subprocess.run([str(python), "-c", LIFETIMES_SCRIPT, str(summary_csv), str(repeats)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        print("lifetimes run failed:", done.stderr.strip().splitlines()[-1:])
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def show(label: str, seconds: float, params: dict, loglik: float) -> None:
    shown = ", ".join(f"{k}={v:.4f}" for k, v in params.items())
    print(f"{label:<34} {seconds:9.4f} s   LL={loglik:12.3f}   {shown}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-lifetimes", action="store_true")
    parser.add_argument("--clients", type=int, default=1_000_000)
    args = parser.parse_args()

    folder = cdnow_folder()
    if folder is None:
        print("CDNOW data not found: pip install --no-deps lifetimes==0.11.3")
        return
    summary_csv = folder / "cdnow_customers_summary.csv"
    data = pd.read_csv(summary_csv)
    x, t_x, T = data["frequency"].to_numpy(), data["recency"].to_numpy(), data["T"].to_numpy()

    print(f"CDNOW: {len(data)} clients (BG/NBD), median of repeated fits")
    ours_s, ours = best_of(lambda: BetaGeo().fit(x, t_x, T), 20)
    show("clv_xl BetaGeo.fit", ours_s, ours.params_, ours.loglik_)

    money = pd.read_csv(folder / "cdnow_customers_summary_with_transactions.csv")
    gg_s, gg = best_of(lambda: GammaGamma().fit(money["x"], money["zbar"]), 20)
    show(f"clv_xl GammaGamma.fit ({gg.n_clients_})", gg_s, gg.params_, gg.loglik_)

    if not args.skip_lifetimes:
        theirs = run_lifetimes(summary_csv, repeats=3)
        if theirs is not None:
            their_s = statistics.median(theirs["seconds"])
            their_ll = float(BetaGeo(params=theirs["params"]).loglik(x, t_x, T).sum())
            show("lifetimes 0.11.3 BetaGeoFitter.fit", their_s, theirs["params"], their_ll)
            print(f"speed-up on CDNOW: {their_s / ours_s:.1f}x; "
                  f"LL difference (ours - lifetimes): {ours.loglik_ - their_ll:+.4f}")

    truth = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    rng = np.random.default_rng(2024)
    T_big = rng.integers(1, 79, args.clients).astype(float)
    x_big, t_x_big = BetaGeo(params=truth).sample(T_big, seed=2025)
    t_x_big = np.round(t_x_big)  # whole weeks, as a real log would give
    print(f"\nsynthetic BG/NBD clients: {args.clients:,} (T = 1..78 weeks, true params {truth})")
    big_s, big = best_of(lambda: BetaGeo().fit(x_big, t_x_big, T_big), 3)
    show("clv_xl BetaGeo.fit (incl. compress)", big_s, big.params_, big.loglik_)
    print("standard errors:", {k: round(v, 4) for k, v in big.se_.items()})


if __name__ == "__main__":
    main()
