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


def test_warning_signs_match_the_churn_module(metrics):
    a = metrics.loc["A"]
    assert a["days_since"] == (pd.Timestamp(AS_OF) - pd.Timestamp("2025-05-01")).days
    expected = churn.churn_risk(a["days_since"], 477 / 2, 0.0, 0.0, 1.0, settings=SETTINGS)
    assert a["warning_score"] == pytest.approx(expected, abs=1e-12)
    assert metrics.loc["D", "days_since"] == 91          # from first contact
    assert metrics.loc["D", "lifecycle_stage"] == "Prospect"
    assert metrics.loc["E", "lifecycle_stage"] == "Prospect"
    # B: one session 600 days ago; a one-timer takes the business's rhythm, A's 238.5 days:
    # 2.5 rhythms, fully overdue
    assert metrics.loc["B", "rhythm"] == 477 / 2
    assert metrics.loc["B", "warning_score"] == pytest.approx(0.6)
    assert metrics.loc["B", "main_reason"] == "Overdue"
    assert set(metrics["lifecycle_stage"]) <= set(STAGES)


def test_churn_risk_is_the_recency_curve_worked_by_hand(metrics):
    # A, B, C have sessions: 244, 600 and 569 days ago. Fewer than 10 clients were first seen
    # a window ago, so the curve aims at a 50% mean: its centre starts at the median (569
    # days) and is corrected twice by c <- c * sqrt(mean / 50%).
    days = np.array([244.0, 600.0, 569.0])
    center = 569.0
    for _ in range(2):
        center *= (np.mean(days ** 2 / (days ** 2 + center ** 2)) / 0.5) ** 0.5
    risk = days ** 2 / (days ** 2 + center ** 2)
    assert metrics.loc[["A", "B", "C"], "churn_risk"].to_numpy() == pytest.approx(risk)
    assert metrics.loc[["D", "E"], "churn_risk"].isna().all()   # prospects: no risk shown
    assert metrics.loc[["D", "E"], "risk_band"].isna().all()
    # B: 600 days since against a 50% point near 476 days: about 61%, Medium, still New
    assert (metrics.loc["B", "risk_band"], metrics.loc["B", "lifecycle_stage"]) == ("Medium", "New")


def test_a_booked_session_leaves_only_the_chance_it_falls_through():
    booked = pd.concat([SESSION_ROWS, frame([("2026-03-01", "B", "Mini", None, "Booked")],
                                            SESSION_ROWS.columns)], ignore_index=True)
    plain = client_metrics(CLIENT_ROWS, SESSION_ROWS, CONTACT_ROWS, SETTINGS, AS_OF)
    with_booking = client_metrics(CLIENT_ROWS, booked, CONTACT_ROWS, SETTINGS, AS_OF)
    # 1 cancelled of 6 completed or cancelled sessions: 1/6 of bookings fall through
    assert with_booking.loc["B", "churn_risk"] == pytest.approx(plain.loc["B", "churn_risk"] / 6)
    assert with_booking.loc["A", "churn_risk"] == pytest.approx(plain.loc["A", "churn_risk"])


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
    risk = m["churn_risk"][m["completed"] > 0]
    assert ((risk >= 0) & (risk <= 1)).all()
    assert m["churn_risk"].isna().sum() == (m["completed"] == 0).sum()
    assert ((m["warning_score"] >= 0) & (m["warning_score"] <= 1)).all()
    # the High band and the At risk / Lapsed stages are the same clients
    assert ((m["risk_band"] == "High") == m["lifecycle_stage"].isin(["At risk", "Lapsed"])).all()
