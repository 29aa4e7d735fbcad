"""Simulated studios whose clients behave differently, to check the churn backtest picks
sensibly on books other than CDNOW (issue 11).

Client kinds (each a process of completed sessions from the client's first day):

- ``one_time``: one session; 10% come back once, some months later;
- ``regular``: sessions every ``gap`` days (the client's own rhythm, from a week to half a
  year, with noise), leaving after each session with a small chance;
- ``seasonal``: once a year around the same date, leaving after each year with 25%;
- ``fader``: gaps that grow by half each time until the client stops (after 2 to 8).

A studio is a mix of kinds; :func:`simulate` returns the Completed sessions up to
``as_of + horizon`` (the future is the truth; the book is what is on or before as_of).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

STUDIOS = {
    # name: (share of each kind, years of history)
    "regulars": ({"regular": 0.8, "one_time": 0.2}, 3.0),
    "one-time heavy": ({"one_time": 0.7, "regular": 0.2, "fader": 0.1}, 3.0),
    "seasonal": ({"seasonal": 0.7, "one_time": 0.2, "regular": 0.1}, 4.0),
    "faders": ({"fader": 0.7, "regular": 0.2, "one_time": 0.1}, 3.0),
    "mixed rhythms": ({"regular": 0.6, "fader": 0.2, "one_time": 0.2}, 3.0),
}
AS_OF = pd.Timestamp("2026-06-30")


def _client_days(kind: str, start: float, end: float, rng) -> list[float]:
    days = [start]
    if kind == "one_time":
        if rng.random() < 0.10:
            days.append(start + rng.uniform(60, 400))
    elif kind == "regular":
        gap = float(np.exp(rng.uniform(np.log(7), np.log(180))))
        leave = rng.uniform(0.02, 0.12)
        t = start
        while rng.random() >= leave:
            t += gap * rng.lognormal(0.0, 0.25)
            if t > end:
                break
            days.append(t)
    elif kind == "seasonal":
        t = start
        while rng.random() >= 0.25:
            t += 365.25 + rng.normal(0, 10)
            if t > end:
                break
            days.append(t)
    elif kind == "fader":
        gap = float(rng.uniform(14, 60))
        t = start
        for _ in range(int(rng.integers(2, 9))):
            t += gap * rng.lognormal(0.0, 0.2)
            gap *= 1.5
            if t > end:
                break
            days.append(t)
    return [d for d in days if d <= end]


def simulate(studio: str, n: int = 1500, seed: int = 0, horizon_days: float = 365.25,
             as_of: pd.Timestamp = AS_OF) -> tuple[list[str], pd.DataFrame]:
    """(client ids, Completed sessions up to as_of + horizon_days) of a simulated studio."""
    mix, years = STUDIOS[studio]
    rng = np.random.default_rng(seed)
    span = years * 365.25
    kinds = rng.choice(list(mix), size=n, p=np.array(list(mix.values())) / sum(mix.values()))
    starts = rng.uniform(0.0, span, n)  # days after the first day of the book
    end = span + horizon_days
    rows = []
    for i, (kind, start) in enumerate(zip(kinds, starts)):
        rows += [(f"S{i:05d}", d) for d in _client_days(kind, start, end, rng)]
    first = as_of - pd.Timedelta(days=span)
    days = np.floor([d for _, d in rows])
    sessions = pd.DataFrame({
        "client_id": [c for c, _ in rows],
        "date": first + pd.to_timedelta(days, unit="D"),
        "amount": np.round(rng.gamma(4.0, 30.0, len(rows)), 2),
        "status": "Completed",
    })
    ids = [f"S{i:05d}" for i in range(n)]
    return ids, sessions


def split(ids, sessions: pd.DataFrame, as_of: pd.Timestamp, horizon_days: float):
    """(the book: sessions on or before as_of, truth per client with history: 1.0 when the
    client had no completed session in (as_of, as_of + horizon], indexed by client id)."""
    book = sessions[sessions["date"] <= as_of]
    known = pd.Index(pd.unique(book["client_id"]))
    later = sessions[(sessions["date"] > as_of)
                     & (sessions["date"] <= as_of + pd.Timedelta(days=horizon_days))]
    truth = pd.Series((~known.isin(pd.unique(later["client_id"]))).astype(float), index=known)
    return book, truth
