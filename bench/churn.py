"""Does the book's churn risk say who leaves? CDNOW and simulated studios, against the truth.

    python bench/churn.py [--skip-studios]

CDNOW: the full 23,570-customer log (``CDNOW_master.txt`` in the lifetimes 0.11.3 wheel:
``pip install --no-deps lifetimes==0.11.3``). The book holds every purchase up to 1997-09-30
(all Completed); the figures are computed as the batch does (``client_figures`` and
``forecast`` with as-of 1997-09-30); the truth is whether each client bought again by
1998-06-30. Printed for each score in one run: AUC (0.5 = random), Brier score (for
probabilities), the mean against the share that left, and a decile calibration table.

Scores: the book's churn risk (horizon 9 months, the truth's window, and the default 12),
the template's native churn risk (``client_metrics``, the same horizons), the warning-sign
score (the template's Main reason comes from it), 1 - P(alive) and P(no purchase in the 39
weeks) from BG/NBD and MBG/NBD, the recency curve with its mean solved exactly and in the
template's two steps, and days since the last purchase (recency).

Then the simulated studios of tests/helpers/studios.py (one-time clients, regulars, seasonal
clients, faders): the chosen candidate, and AUC and mean against the next 12 months.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from clv_xl.book.schema import CLIENTS  # noqa: E402
from clv_xl.book.settings import Settings  # noqa: E402
from clv_xl.engine import churn  # noqa: E402
from clv_xl.engine.churn_model import auc, learn_churn  # noqa: E402
from clv_xl.engine.forecast import forecast  # noqa: E402
from clv_xl.engine.metrics import client_figures, client_metrics  # noqa: E402
from clv_xl.engine.models import BetaGeo, ModifiedBetaGeo, rfm_from_transactions  # noqa: E402

AS_OF = pd.Timestamp("1997-09-30")
HOLDOUT_END = pd.Timestamp("1998-06-30")


def cdnow_sessions() -> pd.DataFrame:
    spec = importlib.util.find_spec("lifetimes")
    if spec is None:
        sys.exit("lifetimes not found: pip install --no-deps lifetimes==0.11.3")
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "CDNOW_master.txt"
    frame = pd.read_csv(path, sep=r"\s+", skiprows=1, header=None,
                        names=["client", "date", "cds", "amount"])
    return pd.DataFrame({"client_id": frame["client"].astype(str).str.zfill(5),
                         "date": pd.to_datetime(frame["date"].astype(str), format="%Y%m%d"),
                         "amount": frame["amount"], "status": "Completed"})


def deciles(score, truth, probability: bool) -> str:
    """Ten groups of clients by score: the mean score against the share that left."""
    order = np.argsort(score, kind="stable")
    lines = [f"    {'decile':>6} {'clients':>8} {'mean score':>11} {'left':>7}"]
    for k, part in enumerate(np.array_split(order, 10), start=1):
        shown = f"{score[part].mean():.1%}" if probability else f"{score[part].mean():.1f}"
        lines.append(f"    {k:>6} {len(part):>8,} {shown:>11} {truth[part].mean():>7.1%}")
    return "\n".join(lines)


def report(name: str, score, truth, probability: bool, table: bool = True) -> dict:
    score = np.asarray(score, dtype=float)
    row = {"score": name, "AUC": auc(score, truth),
           "Brier": float(np.mean((score - truth) ** 2)) if probability else np.nan,
           "mean": float(score.mean()) if probability else np.nan,
           "left": float(truth.mean()), "blank": int(np.isnan(score).sum())}
    if table:
        print(f"\n  {name}: AUC {row['AUC']:.3f}"
              + (f", Brier {row['Brier']:.4f}, mean {row['mean']:.1%} vs {row['left']:.1%} left"
                 if probability else ""))
        print(deciles(score, truth, probability))
    return row


def run_cdnow() -> None:
    sessions = cdnow_sessions()
    book = sessions[sessions["date"] <= AS_OF]
    ids = sorted(pd.unique(book["client_id"]))
    later = sessions[(sessions["date"] > AS_OF) & (sessions["date"] <= HOLDOUT_END)]
    truth = (~pd.Index(ids).isin(pd.unique(later["client_id"]))).astype(float)
    first = book.groupby("client_id")["date"].min().reindex(ids)
    clients = pd.DataFrame({k: None for k in CLIENTS.keys}, index=range(len(ids)))
    clients["client_id"] = ids
    clients["first_contact"] = first.to_numpy()
    print(f"CDNOW: {len(ids):,} clients, {len(book):,} purchases up to {AS_OF.date()}; "
          f"{truth.mean():.1%} did not buy again by {HOLDOUT_END.date()}.")

    rows, timings = [], {}
    for months in (9, 12):
        settings = Settings(as_of=AS_OF.date(), churn_horizon_months=months)
        start = time.perf_counter()
        figures, result = client_figures(clients, book, None, settings)
        timings[f"client_figures, {months} months"] = time.perf_counter() - start
        print(f"\n{months}-month horizon: {result.message}")
        for cand, s in result.backtest.items():
            if "auc" in s:
                print(f"    backtest {cand:20s} AUC {s['auc']:.3f}  Brier {s['brier']:.4f}")
        rows.append(report(f"Book churn risk ({months}-month horizon)",
                           figures["churn_risk"].to_numpy(), truth, True))
        if months == 12:
            stage = figures["lifecycle_stage"]
            print("    stages:", dict(stage.value_counts()), " bands:",
                  dict(figures["risk_band"].value_counts()))

    for months in (9, 12):
        settings = Settings(as_of=AS_OF.date(), churn_horizon_months=months)
        native = client_metrics(clients, book, None, settings)
        rows.append(report(f"Template churn risk, native formulas ({months}-month horizon)",
                           native["churn_risk"].to_numpy(), truth, True))
    rows.append(report("Warning-sign score (the template's Main reason)",
                       native["warning_score"].to_numpy(), truth, True))
    start = time.perf_counter()
    shown = forecast(ids, book, AS_OF, settings)
    timings["forecast"] = time.perf_counter() - start
    print(f"\nForecast: {shown.message}")
    rows.append(report("1 - P(alive) as the Forecast shows it", shown.table["p_not_alive"]
                       .to_numpy(), truth, True))
    rfm = rfm_from_transactions(book["client_id"], book["date"], AS_OF).reindex(ids)
    x, t_x, T = (rfm[c].to_numpy() for c in ("frequency", "recency", "T"))
    holdout = (HOLDOUT_END - AS_OF).days / 7.0
    for cls in (BetaGeo, ModifiedBetaGeo):
        model = cls(time_unit_days=7.0).fit(x, t_x, T)
        rows.append(report(f"1 - P(alive), {cls.MODEL}", 1 - model.p_alive(x, t_x, T), truth,
                           True))
        rows.append(report(f"P(no purchase in {holdout:.0f} weeks), {cls.MODEL}",
                           model.prob_no_purchase(holdout, x, t_x, T), truth, True))
    days = native["days_since"].to_numpy()
    age = (AS_OF - first).dt.days.to_numpy(float)
    for months in (9, 12):
        window = min(months * 365.25 / 12, (AS_OF - book["date"].min()).days / 2)
        share = churn.lapsed_share(age, days, window)
        for steps in (None, 2):
            curve = churn.recency_probability(days, churn.recency_center(days, share, steps))
            how = "exact mean" if steps is None else f"{steps} native steps"
            rows.append(report(f"Recency curve ({months}-month setting, {how}; "
                               f"{share:.0%} lapsed in {window:.0f} days)", curve, truth, True,
                               table=steps is None))
    rows.append(report("Days since the last purchase (recency)", days, truth, False))

    print("\nSummary (CDNOW, truth: no purchase 1997-10-01 to 1998-06-30):")
    table = pd.DataFrame(rows).set_index("score")
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    print("\nSeconds:", ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))


def run_studios(n: int = 1500, seeds=(11, 12)) -> None:
    from tests.helpers.studios import AS_OF as STUDIO_AS_OF
    from tests.helpers.studios import STUDIOS, simulate, split

    print(f"\nSimulated studios ({n:,} clients each, as of {STUDIO_AS_OF.date()}, truth: no "
          "session in the next 12 months):")
    rows = []
    for name in STUDIOS:
        for seed in seeds:
            ids, sessions = simulate(name, n=n, seed=seed)
            book, truth = split(ids, sessions, STUDIO_AS_OF, 365.25)
            result = learn_churn(ids, book, None, STUDIO_AS_OF, Settings())
            p = result.probability.reindex(truth.index).to_numpy()
            last = book.groupby("client_id")["date"].max().reindex(truth.index)
            days = (STUDIO_AS_OF - last).dt.days.to_numpy(float)
            y = truth.to_numpy()
            first = book.groupby("client_id")["date"].min().reindex(truth.index)
            age = (STUDIO_AS_OF - first).dt.days.to_numpy(float)
            share = churn.lapsed_share(age, days, 365.25)
            curve = churn.recency_probability(days, churn.recency_center(days, share, 2))
            rows.append({"studio": name, "seed": seed, "chosen": result.method,
                         "backtest AUC": result.chosen.get("auc", np.nan),
                         "AUC": auc(p, y), "recency AUC": auc(days, y),
                         "mean": p.mean(), "left": y.mean(), "Brier": np.mean((p - y) ** 2),
                         "curve mean": curve.mean(), "lapsed share": share})
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3f}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-studios", action="store_true")
    args = parser.parse_args()
    run_cdnow()
    if not args.skip_studios:
        run_studios()


if __name__ == "__main__":
    main()
