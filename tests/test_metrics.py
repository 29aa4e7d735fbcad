"""client_metrics and segment_summary on a small studio worked by hand, and on the demo."""

import numpy as np
import pandas as pd
import pytest

from clv_xl.engine import churn
from clv_xl.demo import demo_data
from clv_xl.engine.metrics import client_metrics, segment_summary
from clv_xl.book.schema import CLIENTS, STAGES
from clv_xl.book.settings import Settings

AS_OF = "2025-12-31"
SETTINGS = Settings(margin=0.5, default_acquisition_cost=40)


def frame(rows, columns):
    out = pd.DataFrame(rows, columns=columns)
    if "date" in out:
        out["date"] = pd.to_datetime(out["date"])
    return out


CLIENT_ROWS = frame([
    ("A", "Ann", "Family", "2024-01-01", "Instagram", 10.0, None, ""),
    ("B", "Bo", "Family", "2024-05-01", "Referral", None, "A", ""),
    ("C", "Cy", "Wedding", "2024-06-01", "Referral", 0.0, "B", ""),  # chain A <- B <- C
    ("D", "Di", "Portrait", "2025-10-01", "Google", 25.0, None, ""),  # no sessions at all
    ("E", "Ed", "Portrait", "2024-02-01", "Referral", 5.0, "ZZZ", ""),  # unknown referrer
], CLIENTS.keys)
CLIENT_ROWS["first_contact"] = pd.to_datetime(CLIENT_ROWS["first_contact"])
SESSION_ROWS = frame([
    ("2024-01-10", "A", "Family", 100.0, "Completed"),
    ("2024-07-10", "A", "Family", 200.0, "Completed"),
    ("2025-05-01", "A", "Family", 300.0, "Completed"),
    ("2024-05-10", "B", "Mini", 150.0, "Completed"),
    ("2024-06-10", "C", "Wedding", 2000.0, "Completed"),
    ("2024-03-01", "E", "Portrait", 0.0, "Cancelled"),
], ["date", "client_id", "package", "amount", "status"])
CONTACT_ROWS = frame([
    ("2024-02-01", "A", "Email", "Out", "Yes"),
    ("2025-06-01", "A", "Email", "Out", "No"),
], ["date", "client_id", "channel", "direction", "replied"])


@pytest.fixture(scope="module")
def metrics():
    return client_metrics(CLIENT_ROWS, SESSION_ROWS, CONTACT_ROWS, SETTINGS, AS_OF)


def test_one_row_per_client_in_order(metrics):
    assert list(metrics.index) == ["A", "B", "C", "D", "E"]


def test_clv_uses_the_client_cost_or_the_default(metrics):
    assert metrics.loc["A", "clv"] == pytest.approx((600 - 10) * 0.5)
    assert metrics.loc["B", "clv"] == pytest.approx((150 - 40) * 0.5)   # blank -> default
    assert metrics.loc["D", "clv"] == pytest.approx(-25 * 0.5)          # a prospect costs


def test_tlv_counts_direct_referrals_only(metrics):
    assert metrics.loc["A", "tlv"] == 600 + 150          # B, not B's referral C
    assert metrics.loc["B", "tlv"] == 150 + 2000
    assert metrics.loc["C", "tlv"] == 2000
    assert metrics.loc["E", "referrals"] == 0 and metrics.loc["E", "tlv"] == 0
    assert metrics["referrals"].sum() == 2               # the unknown referrer counts nowhere


def test_risk_matches_the_churn_module(metrics):
    a = metrics.loc["A"]
    assert a["days_since"] == (pd.Timestamp(AS_OF) - pd.Timestamp("2025-05-01")).days
    expected = churn.churn_risk(a["days_since"], 477 / 2, 0.0, 0.0, 1.0, settings=SETTINGS)
    assert a["churn_risk"] == pytest.approx(expected, abs=1e-12)
    assert metrics.loc["D", "days_since"] == 91          # from first contact
    assert metrics.loc["D", "lifecycle_stage"] == "Prospect"
    assert metrics.loc["E", "lifecycle_stage"] == "Prospect"
    # B: one session 600 days ago, on the 365-day default rhythm: 1.64x, overdue but not lapsed
    assert metrics.loc["B", "churn_risk"] == pytest.approx(0.6 * (600 / 365 - 1))
    assert (metrics.loc["B", "risk_band"], metrics.loc["B", "lifecycle_stage"]) == ("Medium", "New")
    assert set(metrics["lifecycle_stage"]) <= set(STAGES)


def test_segment_summary(metrics):
    table = segment_summary(metrics)
    family = table.loc["Family"]
    assert family["clients"] == 2
    assert family["clv_total"] == pytest.approx(metrics.loc[["A", "B"], "clv"].sum())
    assert family["avg_order_value"] == pytest.approx(750 / 4)
    assert table["clients"].sum() == len(metrics)


def test_demo_studio_has_every_stage_and_consistent_totals():
    data = demo_data()
    m = client_metrics(data.clients, data.sessions, data.contacts, Settings(as_of=data.as_of))
    assert set(m["lifecycle_stage"]) == set(STAGES)
    assert m["tlv"].sum() == pytest.approx(m["revenue"].sum() + m["referral_revenue"].sum())
    completed = data.sessions[(data.sessions["status"] == "Completed")
                              & (data.sessions["date"] <= pd.Timestamp(data.as_of))]
    assert m["revenue"].sum() == pytest.approx(completed["amount"].sum())
    assert ((m["churn_risk"] >= 0) & (m["churn_risk"] <= 1)).all()
    assert not np.isnan(m["churn_risk"]).any()
