"""summarize, summarize_contacts and the churn signs against logs worked by hand."""

import numpy as np
import pandas as pd
import pytest

from clv_xl.engine import churn
from clv_xl.engine.history import summarize, summarize_contacts
from clv_xl.book.schema import SESSIONS as SESSIONS_SHEET
from clv_xl.book.settings import Settings, SettingsError
from clv_xl.book.validate import validate_sheet

AS_OF = "2025-12-31"


def log(rows, columns=("client_id", "date", "amount", "status")):
    frame = pd.DataFrame(rows, columns=list(columns))
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


SESSIONS = log([
    ("A", "2024-01-10", 100.0, "Completed"),
    ("A", "2024-07-10", 200.0, "Completed"),
    ("A", "2025-03-01", 0.0, "Cancelled"),
    ("A", "2025-04-01", 0.0, "Rescheduled"),
    ("A", "2025-05-01", 300.0, "Completed"),
    ("A", "2026-02-01", 0.0, "Booked"),        # upcoming
    ("B", "2025-06-01", 80.0, "Completed"),
    ("B", "2025-06-01", 40.0, "Completed"),    # two sessions on one day
    ("C", "2025-02-02", 0.0, "Cancelled"),     # only a cancellation
    ("D", "2026-03-01", 500.0, "Completed"),   # after as-of: not history
])


def test_summarize_by_hand():
    s = summarize(SESSIONS, AS_OF, recent_days=365)
    a = s.loc["A"]
    assert (a["completed"], a["cancelled"], a["rescheduled"], a["upcoming"]) == (3, 1, 1, 1)
    assert a["revenue"] == 600 and a["avg_order_value"] == 200
    assert a["first_session"] == pd.Timestamp("2024-01-10")
    assert a["last_session"] == pd.Timestamp("2025-05-01")
    # 2024-01-10 .. 2025-05-01 is 477 days over 2 gaps
    assert a["interval_days"] == pytest.approx(477 / 2)
    # window 2025-01-01 .. 2025-12-31: the cancellation, the reschedule and the May session
    assert (a["recent_bookings"], a["recent_cancelled"]) == (3, 2)
    assert (a["frequency"], a["recency"], a["T"]) == (2, 477, 721)

    b = s.loc["B"]
    assert b["completed"] == 2 and b["revenue"] == 120
    assert np.isnan(b["interval_days"])           # both on one day: no rhythm
    assert (b["frequency"], b["recency"]) == (0, 0)  # one distinct day: no repeat

    c = s.loc["C"]
    assert c["completed"] == 0 and c["cancelled"] == 1
    assert np.isnan(c["avg_order_value"]) and pd.isna(c["last_session"])

    d = s.loc["D"]
    assert d["completed"] == 0 and d["revenue"] == 0


def test_a_row_of_another_status_is_no_session_in_any_door():
    odd = log([("A", "2025-06-01", 0.0, "No-show"), ("A", "2025-07-01", 10.0, "Pending")])
    with_odd = summarize(pd.concat([SESSIONS, odd], ignore_index=True), AS_OF, recent_days=365)
    pd.testing.assert_frame_equal(with_odd, summarize(SESSIONS, AS_OF, recent_days=365))
    sheet = odd.assign(package=None)
    good, problems = validate_sheet(SESSIONS_SHEET, sheet, first_row=2)
    assert good.empty and {p.column for p in problems} == {"Status"}


def test_summarize_contacts_by_hand():
    contacts = log([
        ("A", "2024-03-01", "Out", "Yes"),
        ("A", "2024-06-01", "Out", "Yes"),
        ("A", "2025-06-01", "Out", "No"),
        ("A", "2025-07-01", "Out", "Yes"),
        ("A", "2025-07-02", "In", None),
        ("A", "2026-01-05", "Out", "No"),   # after as-of
    ], columns=("client_id", "date", "direction", "replied"))
    c = summarize_contacts(contacts, AS_OF, recent_days=365).loc["A"]
    assert list(c) == [2, 1, 2, 2]


def test_overdue_sign_is_zero_on_rhythm_and_full_at_twice_it():
    s = Settings()
    assert churn.overdue_sign([100, 150, 200, 400], 100, settings=s) == pytest.approx(
        [0, 0.5, 1, 1])
    assert churn.overdue_sign(400, 100, upcoming=True, settings=s) == 0
    assert churn.overdue_sign(365 * 1.5, np.nan, settings=s) == pytest.approx(0.5)
    assert churn.overdue_sign(np.nan, 100, settings=s) == 0


def test_reply_sign():
    assert churn.reply_sign(0.25, 0.75) == pytest.approx(0.5)
    assert churn.reply_sign(0.9, 0.5) == 0
    assert churn.reply_sign(0.0) == 1          # no baseline: assumed 100%
    assert churn.reply_sign(np.nan, 0.9) == 0  # nothing sent recently: no evidence


def test_score_is_the_weighted_mean_and_stays_in_0_1():
    s = Settings(weight_overdue=2, weight_cancellations=1, weight_replies=1)
    score = churn.churn_risk(150, 100, 0.5, 0.0, 1.0, settings=s)
    assert score == pytest.approx((2 * 0.5 + 1 * 0.5 + 1 * 1.0) / 4)
    grid = churn.churn_risk(np.linspace(0, 5000, 50), 30, np.linspace(0, 1, 50),
                            np.linspace(0, 1, 50), np.linspace(1, 0, 50))
    assert ((grid >= 0) & (grid <= 1)).all()


def test_main_reason_and_ties():
    assert churn.main_reason(1000, 100) == "Overdue"
    assert churn.main_reason(10, 100, 0.5) == "Cancellations"
    assert churn.main_reason(10, 100, 0.0, 0.0, 1.0) == "Fewer replies"
    assert churn.main_reason(10, 100) == "No warning signs"
    even = Settings(weight_overdue=1, weight_cancellations=1, weight_replies=1)
    assert churn.main_reason(200, 100, 1.0, settings=even) == "Overdue"


def test_bands_and_stages():
    s = Settings(band_medium=0.3, band_high=0.6)
    assert list(churn.risk_band([0.0, 0.29, 0.3, 0.59, 0.6, 1.0], s)) == [
        "Low", "Low", "Medium", "Medium", "High", "High"]
    stages = churn.lifecycle_stage([0, 3, 3, 3, 1, 4], [10, 400, 400, 50, 50, 50],
                                   [100, 100, 100, 100, np.nan, 100],
                                   [0, 0.9, 0.9, 0.9, 0.1, 0.1], [0, 0, 1, 0, 0, 0], s)
    assert list(stages) == ["Prospect", "Lapsed", "At risk", "At risk", "New", "Retained"]


@pytest.mark.parametrize("values, words", [
    ({"margin": 20}, "20%, not 20"),
    ({"margin": "x"}, "not a number"),
    ({"as_of": "someday"}, "not a date"),
    ({"weight_overdue": 0, "weight_cancellations": 0, "weight_replies": 0}, "weight"),
    ({"overdue_start": 2, "overdue_full": 1}, "larger"),
    ({"band_medium": 0.7, "band_high": 0.5}, "High risk"),
    ({"colour": "red"}, "unknown"),
])
def test_bad_settings_say_which_and_why(values, words):
    with pytest.raises(SettingsError, match=words):
        Settings(values)


def test_blank_settings_take_the_defaults():
    s = Settings(margin=None, currency="", discount_rate=float("nan"))
    assert (s.margin, s.currency, s.discount_rate) == (0.6, "USD", 0.10)
