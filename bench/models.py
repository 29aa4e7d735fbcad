"""Benchmark the BG/NBD, MBG/NBD, Pareto/NBD, BG/BB and Gamma-Gamma fits, side by side with
lifetimes.

    python bench/models.py [--skip-lifetimes] [--clients 1000000]
                           [--only fits|compress|heavy]

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
from clv_xl.engine.models import BetaGeo, GammaGamma, ModifiedBetaGeo, compress  # noqa: E402
from clv_xl.engine.models.bgbb import BetaGeoBetaBinom  # noqa: E402
from clv_xl.engine.models.pareto_nbd import ParetoNBD  # noqa: E402
from clv_xl.engine.models import _data  # noqa: E402

LIFETIMES_VENV = Path(tempfile.gettempdir()) / "clv-xl-bench-lifetimes"
LIFETIMES_PINS = ["lifetimes==0.11.3", "pandas==1.5.3", "numpy==1.26.4", "scipy==1.11.4", "autograd", "dill"]

LIFETIMES_SCRIPT = """
import json, sys, time
import numpy as np
import pandas as pd
from lifetimes import (BetaGeoBetaBinomFitter, BetaGeoFitter, ModifiedBetaGeoFitter,
                       ParetoNBDFitter)
FITTERS = {"BetaGeoFitter": BetaGeoFitter, "ModifiedBetaGeoFitter": ModifiedBetaGeoFitter,
           "ParetoNBDFitter": ParetoNBDFitter}
job = json.loads(open(sys.argv[1]).read())
out = {}
data = pd.read_csv(job["csv"]) if job["fitters"] else None
weights = data["weights"] if data is not None and "weights" in data else None
for name in job["fitters"]:
    times = []
    for _ in range(job["repeats"]):
        start = time.perf_counter()
        fitter = FITTERS[name]().fit(data["frequency"], data["recency"], data["T"], weights=weights)
        times.append(time.perf_counter() - start)
    result = {"seconds": times, "params": {k: float(v) for k, v in fitter.params_.items()}}
    if name in job.get("predict", {}):  # lifetimes' predictions at our parameters
        fitter.params_ = pd.Series(job["predict"][name])
        x, t_x, T = data["frequency"], data["recency"], data["T"]
        result["p_alive"] = [float(v) for v in fitter.conditional_probability_alive(x, t_x, T)]
        result["expected"] = [float(v) for v in
                              fitter.conditional_expected_number_of_purchases_up_to_time(
                                  job["t"], x, t_x, T)]
    out[name] = result
if "bgbb" in job:  # BG/BB on (frequency, recency, periods, weights)
    rows = pd.read_csv(job["bgbb"])
    times = []
    for _ in range(job["repeats"]):
        start = time.perf_counter()
        fitter = BetaGeoBetaBinomFitter().fit(rows["frequency"], rows["recency"],
                                              rows["periods"], weights=rows["weights"])
        times.append(time.perf_counter() - start)
    out["BetaGeoBetaBinomFitter"] = {
        "seconds": times, "params": {k: float(v) for k, v in fitter.params_.items()}}
if "timing" in job:  # predictions only, at given parameters, timed here
    spec = job["timing"]
    rows = pd.read_csv(spec["csv"])
    x, t_x, T = (rows[c].to_numpy() for c in ("frequency", "recency", "T"))
    fitter = FITTERS[spec["fitter"]]()
    fitter.params_ = pd.Series(spec["params"])
    calls = {"p_alive": lambda: fitter.conditional_probability_alive(x, t_x, T),
             "expected": lambda: fitter.conditional_expected_number_of_purchases_up_to_time(
                 spec["t"], x, t_x, T)}
    out["timing"] = {}
    for what, call in calls.items():
        start = time.perf_counter()
        values = np.asarray(call(), dtype=float)
        out["timing"][what] = {"seconds": time.perf_counter() - start,
                               "sample": [float(values[i]) for i in spec["sample"]]}
print(json.dumps(out))
"""
HORIZON = 39.0  # weeks ahead for the expected-purchases comparison (CDNOW's holdout length)


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


def run_lifetimes(summary_csv: Path | None, repeats: int, fitters=("BetaGeoFitter",),
                  predict: dict | None = None, timing: dict | None = None,
                  bgbb: Path | None = None) -> dict | None:
    python = lifetimes_python()
    if python is None:
        return None
    job = Path(tempfile.gettempdir()) / "clv-xl-bench-job.json"
    task = {"csv": str(summary_csv), "repeats": repeats, "fitters": list(fitters),
            "predict": predict or {}, "t": HORIZON}
    if timing:
        task["timing"] = timing
    if bgbb:
        task["bgbb"] = str(bgbb)
    job.write_text(json.dumps(task))
    done = subprocess.run([str(python), "-c", LIFETIMES_SCRIPT, str(job)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        print("lifetimes run failed:", done.stderr.strip().splitlines()[-1:])
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def show(label: str, seconds: float, params: dict, loglik: float, steps=None) -> None:
    shown = ", ".join(f"{k}={v:.4f}" for k, v in params.items())
    steps = f"   ({steps} Newton steps)" if steps is not None else ""
    print(f"{label:<40} {seconds:9.4f} s   LL={loglik:12.3f}   {shown}{steps}")


def worst_relative_error(ours, theirs) -> str:
    """The worst relative difference where both are finite, and how many of theirs are not
    (lifetimes' Pareto/NBD gives NaN where recency = T on recent scipy)."""
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    both = np.isfinite(ours) & np.isfinite(theirs)
    worst = float(np.max(np.abs(ours[both] - theirs[both]) / np.maximum(np.abs(theirs[both]),
                                                                         1e-300)))
    missing = int((~np.isfinite(theirs)).sum())
    ours_missing = int((~np.isfinite(ours)).sum())
    return f"{worst:.1e}" + (f" (lifetimes non-finite for {missing})" if missing else "") + \
        (f" (ours non-finite for {ours_missing})" if ours_missing else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-lifetimes", action="store_true")
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--only", choices=("fits", "compress", "heavy"),
                        help="one part: the fits (CDNOW and synthetic), compress() by hash "
                             "and by sort, or MBG/NBD predictions for heavy buyers")
    args = parser.parse_args()
    if args.only in (None, "compress"):
        compress_bench(args.clients)
    if args.only in (None, "heavy"):
        heavy_buyers_bench(args.clients, args.skip_lifetimes)
    if args.only in (None, "fits"):
        fits_bench(args)


def fits_bench(args) -> None:

    folder = cdnow_folder()
    if folder is None:
        print("CDNOW data not found: pip install --no-deps lifetimes==0.11.3")
        return
    summary_csv = folder / "cdnow_customers_summary.csv"
    data = pd.read_csv(summary_csv)
    x, t_x, T = data["frequency"].to_numpy(), data["recency"].to_numpy(), data["T"].to_numpy()

    print(f"CDNOW: {len(data)} clients (BG/NBD), median of repeated fits")
    ours_s, ours = best_of(lambda: BetaGeo().fit(x, t_x, T), 20)
    show("clv_xl BetaGeo.fit", ours_s, ours.params_, ours.loglik_, ours.n_iter_)

    money = pd.read_csv(folder / "cdnow_customers_summary_with_transactions.csv")
    gg_s, gg = best_of(lambda: GammaGamma().fit(money["x"], money["zbar"]), 20)
    show(f"clv_xl GammaGamma.fit ({gg.n_clients_})", gg_s, gg.params_, gg.loglik_, gg.n_iter_)

    mbg_s, mbg = best_of(lambda: ModifiedBetaGeo().fit(x, t_x, T), 20)
    show("clv_xl ModifiedBetaGeo.fit", mbg_s, mbg.params_, mbg.loglik_, mbg.n_iter_)

    pnbd_s, pnbd = best_of(lambda: ParetoNBD().fit(x, t_x, T), 5)
    show("clv_xl ParetoNBD.fit", pnbd_s, pnbd.params_, pnbd.loglik_, pnbd.n_iter_)

    donations = pd.read_csv(folder / "donations.csv")
    bgbb_s, bgbb = best_of(lambda: BetaGeoBetaBinom().fit(
        donations["frequency"], donations["recency"], donations["periods"],
        donations["weights"]), 20)
    show(f"clv_xl BetaGeoBetaBinom.fit (donations, {bgbb.n_clients_})", bgbb_s, bgbb.params_,
         bgbb.loglik_, bgbb.n_iter_)

    if not args.skip_lifetimes:
        ours_by_fitter = {"BetaGeoFitter": (ours, ours_s, BetaGeo),
                          "ModifiedBetaGeoFitter": (mbg, mbg_s, ModifiedBetaGeo),
                          "ParetoNBDFitter": (pnbd, pnbd_s, ParetoNBD)}
        theirs = run_lifetimes(summary_csv, repeats=3, fitters=list(ours_by_fitter),
                               predict={k: v[0].params_ for k, v in ours_by_fitter.items()},
                               bgbb=folder / "donations.csv")
        for name, (model, seconds, cls) in ours_by_fitter.items():
            if theirs is None:
                break
            result = theirs[name]
            their_s = statistics.median(result["seconds"])
            their_ll = float(cls(params=result["params"]).loglik(x, t_x, T).sum())
            show(f"lifetimes 0.11.3 {name}.fit", their_s, result["params"], their_ll)
            print(f"  speed-up on CDNOW: {their_s / seconds:.1f}x; "
                  f"LL difference (ours - lifetimes): {model.loglik_ - their_ll:+.4f}")
            alive = worst_relative_error(model.p_alive(x, t_x, T), result["p_alive"])
            expected = worst_relative_error(
                model.conditional_expected_purchases(HORIZON, x, t_x, T), result["expected"])
            print(f"  same parameters, all {len(x)} clients, worst relative error vs lifetimes: "
                  f"P(alive) {alive}, E[Y({HORIZON:g} weeks)] {expected}")
        if theirs is not None:
            result = theirs["BetaGeoBetaBinomFitter"]
            their_s = statistics.median(result["seconds"])
            their_ll = float(np.dot(donations["weights"], BetaGeoBetaBinom(
                params=result["params"]).loglik(donations["frequency"], donations["recency"],
                                                donations["periods"])))
            show("lifetimes 0.11.3 BetaGeoBetaBinomFitter.fit", their_s, result["params"],
                 their_ll)
            print(f"  speed-up on the donations: {their_s / bgbb_s:.1f}x; "
                  f"LL difference (ours - lifetimes): {bgbb.loglik_ - their_ll:+.4f}")

    truth = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    rng = np.random.default_rng(2024)
    T_big = rng.integers(1, 79, args.clients).astype(float)
    x_big, t_x_big = BetaGeo(params=truth).sample(T_big, seed=2025)
    t_x_big = np.round(t_x_big)  # whole weeks, as a real log would give
    print(f"\nsynthetic BG/NBD clients: {args.clients:,} (T = 1..78 weeks, true params {truth})")
    big_s, big = best_of(lambda: BetaGeo().fit(x_big, t_x_big, T_big), 3)
    show("clv_xl BetaGeo.fit (incl. compress)", big_s, big.params_, big.loglik_)
    print("standard errors:", {k: round(v, 4) for k, v in big.se_.items()})

    mbg_truth = MBG_TRUTH
    x_m, t_x_m = ModifiedBetaGeo(params=mbg_truth).sample(T_big, seed=2026)
    t_x_m = np.round(t_x_m)
    print(f"\nsynthetic MBG/NBD clients: {args.clients:,} (T = 1..78 weeks, true params {mbg_truth})")
    mbig_s, mbig = best_of(lambda: ModifiedBetaGeo().fit(x_m, t_x_m, T_big), 3)
    show("clv_xl ModifiedBetaGeo.fit (incl. compress)", mbig_s, mbig.params_, mbig.loglik_)
    print("standard errors:", {k: round(v, 4) for k, v in mbig.se_.items()})
    rows = compress(x_m, t_x_m, T_big)
    rows_s, _ = best_of(lambda: ModifiedBetaGeo().fit(rows.frequency, rows.recency, rows.T,
                                                      weights=rows.weights), 3)
    print(f"  of which the fit on the {len(rows.T):,} distinct rows with weights: {rows_s:.4f} s")
    if not args.skip_lifetimes:
        big_csv = Path(tempfile.gettempdir()) / "clv-xl-bench-mbg-big.csv"
        pd.DataFrame({"frequency": rows.frequency, "recency": rows.recency, "T": rows.T,
                      "weights": rows.weights}).to_csv(big_csv, index=False)
        theirs = run_lifetimes(big_csv, repeats=1, fitters=["ModifiedBetaGeoFitter"])
        if theirs is not None:
            result = theirs["ModifiedBetaGeoFitter"]
            their_ll = float(np.dot(rows.weights, ModifiedBetaGeo(params=result["params"]).loglik(
                rows.frequency, rows.recency, rows.T)))
            show("lifetimes ModifiedBetaGeoFitter.fit", result["seconds"][0], result["params"],
                 their_ll)
            print(f"  (lifetimes given the same {len(rows.T):,} distinct rows with weights); "
                  f"speed-up on those rows: {result['seconds'][0] / rows_s:.1f}x")



def compress_bench(clients: int, repeats: int = 5) -> None:
    """compress() by hashing (ours) against the lexicographic sort it replaced, interleaved,
    on the synthetic MBG/NBD clients of the fits below."""
    T = np.random.default_rng(2024).integers(1, 79, clients).astype(float)
    x, t_x = ModifiedBetaGeo(params=MBG_TRUTH).sample(T, seed=2026)
    stacked = np.column_stack([x, np.round(t_x), T])
    times = {"hash": [], "sort": []}
    for _ in range(repeats):
        for way, group in (("hash", _data._group_rows), ("sort", _data._group_rows_by_sorting)):
            start = time.perf_counter()
            group(stacked)
            times[way].append(time.perf_counter() - start)
    ratio = [s / h for s, h in zip(times["sort"], times["hash"])]
    print(f"compress, {len(x):,} rows, {repeats} interleaved repeats, median (min-max): "
          f"hash {spread(times['hash'], 1e3)} ms, sort {spread(times['sort'], 1e3)} ms, "
          f"sort / hash {spread(ratio, 1, 2)}")


MBG_TRUTH = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
HEAVY = {"r": 2.0, "alpha": 0.5, "a": 0.5, "b": 10.0}  # about 4 purchases a week, rare dropout


def heavy_buyers_bench(clients: int, skip_lifetimes: bool, rounds: int = 5) -> None:
    """MBG/NBD P(alive) and E[Y(39 weeks)] for many heavy buyers: ours and lifetimes', timed
    in alternating rounds, each checked against 40-digit mpmath on a sample of clients."""
    rng = np.random.default_rng(2027)
    T = rng.integers(1, 79, clients).astype(float)
    model = ModifiedBetaGeo(params=HEAVY)
    x, t_x = model.sample(T, seed=2028)
    t_x = np.round(t_x)
    sample = np.unique(np.concatenate([np.argsort(x)[-200:], rng.choice(clients, 300)]))
    print(f"MBG/NBD predictions, {clients:,} heavy buyers (params {HEAVY}; frequency median "
          f"{np.median(x):.0f}, max {x.max():.0f}), {rounds} alternating rounds")
    reference = {"p_alive": [_mp_p_alive(HEAVY, *v) for v in zip(x[sample], t_x[sample], T[sample])],
                 "expected": [_mp_expected(HEAVY, HORIZON, *v)
                              for v in zip(x[sample], t_x[sample], T[sample])]}
    ours = {"p_alive": lambda: model.p_alive(x, t_x, T),
            "expected": lambda: model.conditional_expected_purchases(HORIZON, x, t_x, T)}
    csv = Path(tempfile.gettempdir()) / "clv-xl-bench-heavy.csv"
    pd.DataFrame({"frequency": x, "recency": t_x, "T": T}).to_csv(csv, index=False)
    timing = {"csv": str(csv), "fitter": "ModifiedBetaGeoFitter", "params": HEAVY,
              "t": HORIZON, "sample": sample.tolist()}
    seconds = {(who, what): [] for who in ("ours", "lifetimes") for what in ours}
    errors = {}
    for _ in range(rounds):
        for what, call in ours.items():
            start = time.perf_counter()
            values = call()
            seconds["ours", what].append(time.perf_counter() - start)
            errors["ours", what] = _worst_error(values[sample], reference[what])
        if skip_lifetimes:
            continue
        theirs = run_lifetimes(None, 0, fitters=[], timing=timing)
        if theirs is None:
            skip_lifetimes = True
            continue
        for what, result in theirs["timing"].items():
            seconds["lifetimes", what].append(result["seconds"])
            errors["lifetimes", what] = _worst_error(result["sample"], reference[what])
    for what in ours:
        line = f"  {what:9} ours {spread(seconds['ours', what], 1e3)} ms " \
               f"(worst relative error {errors['ours', what]:.1e})"
        if seconds["lifetimes", what]:
            ratio = [t / o for t, o in zip(seconds["lifetimes", what], seconds["ours", what])]
            line += (f"; lifetimes {spread(seconds['lifetimes', what], 1e3)} ms (worst relative "
                     f"error {errors['lifetimes', what]:.1e}); lifetimes / ours "
                     f"{spread(ratio, 1, 2)}")
        print(line)
    print(f"  errors against 40-digit mpmath on {len(sample)} clients (the 200 heaviest and "
          "300 at random); nan: no finite value for some of them\n")


def _mp_p_alive(params, x, t_x, T) -> float:
    """MBG/NBD P(alive) at 40 digits (Batislam et al. 2007, eq. 5)."""
    import mpmath as mp
    with mp.workdps(40):
        r, alpha, a, b = (mp.mpf(params[k]) for k in ("r", "alpha", "a", "b"))
        x, t_x, T = mp.mpf(x), mp.mpf(t_x), mp.mpf(T)
        return float(1 / (1 + a / (b + x) * ((alpha + T) / (alpha + t_x)) ** (r + x)))


def _mp_expected(params, t, x, t_x, T) -> float:
    """MBG/NBD E[Y(t)] at 40 digits, through the Pfaff form 2F1(r+x, a-1; a+b+x; -t/(alpha+T))."""
    import mpmath as mp
    with mp.workdps(40):
        r, alpha, a, b = (mp.mpf(params[k]) for k in ("r", "alpha", "a", "b"))
        x, t_x, T, t = mp.mpf(x), mp.mpf(t_x), mp.mpf(T), mp.mpf(t)
        f = mp.hyp2f1(r + x, a - 1, a + b + x, -t / (alpha + T), maxterms=10**6)
        alive = 1 / (1 + a / (b + x) * ((alpha + T) / (alpha + t_x)) ** (r + x))
        return float((a + b + x) / (a - 1) * (1 - f) * alive)


def _worst_error(values, reference) -> float:
    values, reference = np.asarray(values, dtype=float), np.asarray(reference, dtype=float)
    if not np.all(np.isfinite(values)):
        return float("nan")
    return float(np.max(np.abs(values - reference) / np.maximum(np.abs(reference), 1e-300)))


def spread(values, scale=1.0, digits=1) -> str:
    values = [v * scale for v in values]
    return (f"{statistics.median(values):.{digits}f} "
            f"({min(values):.{digits}f}-{max(values):.{digits}f})")


if __name__ == "__main__":
    main()
