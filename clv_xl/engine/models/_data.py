"""Turning transaction logs into the per-client summaries the models fit."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd


class Compressed(NamedTuple):
    """Distinct (frequency, recency, T) rows, their summed weights, and the map back."""

    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    weights: np.ndarray
    inverse: np.ndarray  # row i of the input is distinct row inverse[i]


def compress(frequency, recency, T, weights=None) -> Compressed:
    """Collapse clients sharing a (frequency, recency, T) triple into one weighted row.

    The BG/NBD likelihood only depends on the triple, so fitting the distinct
    rows with counts as weights gives the same estimates, much faster.
    """
    stacked = np.column_stack([
        np.asarray(frequency, dtype=float).ravel(),
        np.asarray(recency, dtype=float).ravel(),
        np.asarray(T, dtype=float).ravel(),
    ])
    w = np.ones(len(stacked)) if weights is None else np.asarray(weights, dtype=float).ravel()
    if len(w) != len(stacked):
        raise ValueError("weights must have one value per client")
    if len(stacked) == 0:
        empty = np.empty(0)
        return Compressed(empty, empty, empty, empty, np.empty(0, dtype=np.intp))
    inverse, unique = _group_rows(stacked)
    counts = np.bincount(inverse, weights=w, minlength=len(unique))
    return Compressed(unique[:, 0], unique[:, 1], unique[:, 2], counts, inverse)


def _group_rows(stacked: np.ndarray):
    """(inverse, distinct rows in lexicographic order) of a float table, by hashing.

    Each column is factorized (a hash table, its few distinct values sorted), the codes are
    combined into one integer per row that sorts as the rows do, and those integers are
    factorized once more: no sort of all the rows (``python bench/models.py`` times it
    against the sort it replaces).
    """
    codes, sizes = [], []
    for column in stacked.T:
        code, distinct = pd.factorize(column, sort=True)
        codes.append(code.astype(np.int64))
        sizes.append(len(distinct))
    if np.prod(np.array(sizes, dtype=float)) >= 2.0 ** 62:  # the combined key would overflow
        return _group_rows_by_sorting(stacked)
    key = codes[0]
    for code, size in zip(codes[1:], sizes[1:]):
        key = key * size + code
    inverse, distinct_keys = pd.factorize(key, sort=True)
    first = np.empty(len(distinct_keys), dtype=np.intp)
    first[inverse[::-1]] = np.arange(len(inverse) - 1, -1, -1)  # a row of each group
    return inverse.astype(np.intp), stacked[first]


def _group_rows_by_sorting(stacked: np.ndarray):
    """As :func:`_group_rows`, by a lexicographic sort and run boundaries."""
    order = np.lexsort(stacked.T[::-1])
    ordered = stacked[order]
    starts = np.empty(len(ordered), dtype=bool)
    starts[0] = True
    np.any(ordered[1:] != ordered[:-1], axis=1, out=starts[1:])
    inverse = np.empty(len(ordered), dtype=np.intp)
    inverse[order] = np.cumsum(starts) - 1
    return inverse, ordered[starts]


def distinct_with_weights(values: np.ndarray, weights: np.ndarray):
    """(distinct values, which[i] such that values[i] == distinct[which[i]], summed weights
    per distinct value): for terms of a likelihood that depend on few distinct values."""
    distinct, which = np.unique(values, return_inverse=True)
    return distinct, which, np.bincount(which, weights=weights, minlength=len(distinct))


def rfm_from_transactions(client_ids, dates, as_of, unit_days: float = 7.0, amounts=None) -> pd.DataFrame:
    """Per-client frequency, recency, T (and monetary value) as of a date.

    Transactions on the same calendar day count as one purchase (their amounts
    are summed). Transactions after ``as_of`` are ignored.

    - frequency: number of distinct purchase days minus one (repeat purchases);
    - recency: days from first to last purchase, divided by ``unit_days``;
    - T: days from first purchase to ``as_of``, divided by ``unit_days``;
    - monetary_value (if ``amounts``): mean daily amount of the repeat purchases,
      i.e. excluding the first day, as in lifetimes; 0 for clients with no repeat.

    Returns a DataFrame indexed by client id, sorted by id.
    """
    as_of = pd.Timestamp(as_of).normalize()
    frame = pd.DataFrame({
        "client": np.asarray(client_ids),
        "day": pd.to_datetime(np.asarray(dates)).normalize(),
    })
    if amounts is not None:
        frame["amount"] = np.asarray(amounts, dtype=float)
    frame = frame[frame["day"] <= as_of]
    if frame.empty:
        raise ValueError(f"no transactions on or before {as_of.date()}")

    agg = {"amount": ("amount", "sum")} if amounts is not None else {}
    daily = frame.groupby(["client", "day"], sort=True).agg(**agg) if agg else (
        frame.drop_duplicates(["client", "day"]).set_index(["client", "day"]).sort_index()
    )
    daily = daily.reset_index()
    grouped = daily.groupby("client", sort=True)
    first = grouped["day"].min()
    last = grouped["day"].max()
    n_days = grouped["day"].size()

    out = pd.DataFrame(index=first.index)
    out["frequency"] = (n_days - 1).astype(float)
    out["recency"] = (last - first).dt.days / unit_days
    out["T"] = (as_of - first).dt.days / unit_days
    if amounts is not None:
        # daily is sorted by (client, day), so the first row per client is the first purchase
        first_amount = grouped["amount"].first()
        repeat_total = grouped["amount"].sum() - first_amount
        freq = out["frequency"].to_numpy()
        out["monetary_value"] = np.where(freq > 0, repeat_total.to_numpy() / np.maximum(freq, 1), 0.0)
    out.index.name = "client"
    return out
