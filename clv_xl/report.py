"""A short plain-text report of the per-client figures, for the terminal."""

from __future__ import annotations

import pandas as pd

from .engine.metrics import segment_summary
from .book.schema import LABELS, NO_SEGMENT


#: Figures counted in days: shown as whole numbers.
DAY_KEYS = ("days_since", "interval_days", "recency", "T")


def money(value: float, currency: str = "") -> str:
    return f"{currency} {value:,.2f}".strip()


def text_report(metrics: pd.DataFrame, currency: str = "", top: int = 5,
                churn_note: str = "") -> str:
    """Totals, CLV by segment, the most valuable clients and the clients most at risk.

    ``churn_note``: how churn risk was made and how well it did in the backtest
    (:attr:`clv_xl.engine.churn_model.ChurnResult.message`), printed under the totals."""
    stages = metrics["lifecycle_stage"].value_counts()
    lines = [
        f"Clients: {len(metrics):,}   " + "   ".join(
            f"{stage}: {stages.get(stage, 0):,}"
            for stage in ("Prospect", "New", "Retained", "At risk", "Lapsed")),
        f"Revenue: {money(metrics['revenue'].sum(), currency)}   "
        f"CLV to date: {money(metrics['clv'].sum(), currency)}   "
        f"Average CLV: {money(metrics['clv'].mean(), currency)}",
        *([churn_note] if churn_note else []),
        "",
        "CLV by segment:",
        _table(segment_summary(metrics).reset_index(),
               {"segment": "Segment", "clients": "Clients", "clv_avg": "Avg CLV",
                "tlv_avg": "Avg TLV", "share_high_risk": "High risk"}),
        "",
        "Most valuable clients (TLV counts the clients they referred):",
        _table(metrics.nlargest(top, "tlv").reset_index(),
               {k: LABELS[k] for k in ("client_id", "segment", "completed", "clv", "tlv")}),
        "",
        "Most at risk (active clients):",
        _table(metrics[metrics["lifecycle_stage"].isin(["At risk", "New", "Retained"])]
               .nlargest(top, "churn_risk").reset_index(),
               {k: LABELS[k] for k in ("client_id", "churn_risk", "main_reason", "days_since",
                                       "tlv")}),
    ]
    return "\n".join(lines)


def _table(frame: pd.DataFrame, columns: dict[str, str]) -> str:
    shown = frame[list(columns)].rename(columns=columns)
    if "segment" in columns:  # a blank segment reads as in CLV by segment
        shown[columns["segment"]] = shown[columns["segment"]].fillna(NO_SEGMENT)
    days = {columns[k] for k in columns if k in DAY_KEYS}
    formats = {c: ((lambda v: f"{v:,.0f}") if c in days else (lambda v: f"{v:,.2f}"))
               for c in shown.columns if pd.api.types.is_float_dtype(shown[c])}
    return shown.to_string(index=False, formatters=formats) if len(shown) else "  (no clients)"
