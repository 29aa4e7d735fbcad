"""Find and load the CDNOW sample that ships inside the lifetimes 0.11.3 wheel.

lifetimes itself is never imported (it does not import under pandas 3); we
only locate its package folder and read the files in ``datasets/``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

SKIP_REASON = "CDNOW data not found: pip install --no-deps lifetimes==0.11.3"
CALIBRATION_END = "1997-09-30"  # end of week 39
HOLDOUT_END = "1998-06-30"  # end of week 78


def datasets_dir() -> Path | None:
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "datasets"
    return folder if (folder / "CDNOW_sample.txt").exists() else None


def _path(name: str) -> Path:
    folder = datasets_dir()
    if folder is None or not (folder / name).exists():
        pytest.skip(SKIP_REASON)
    return folder / name


def summary() -> pd.DataFrame:
    """cdnow_customers_summary.csv: ID, frequency, recency, T (weeks, 39-week calibration)."""
    return pd.read_csv(_path("cdnow_customers_summary.csv"))


def summary_with_monetary() -> pd.DataFrame:
    """cdnow_customers_summary_with_transactions.csv, renamed to frequency/recency/T/monetary_value."""
    frame = pd.read_csv(_path("cdnow_customers_summary_with_transactions.csv"))
    return frame.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})


def transactions() -> pd.DataFrame:
    """CDNOW_sample.txt: one row per transaction, with client id 1..2357 and a datetime."""
    frame = pd.read_csv(
        _path("CDNOW_sample.txt"), sep=r"\s+", header=None,
        names=["master_id", "client", "date", "cds", "amount"],
    )
    frame["date"] = pd.to_datetime(frame["date"].astype(str), format="%Y%m%d")
    return frame
