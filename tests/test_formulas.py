"""The seed examples, exactly, and the properties every CLV formula must keep."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, strategies as st

from clv_xl.engine.formulas import clv, clv_levers, expected_lifetime, retention_clv, tlv

money = st.floats(0, 1e5, allow_nan=False)
count = st.floats(0, 500, allow_nan=False)
share = st.floats(0, 1, allow_nan=False)


def test_seed_004_worked_example():
    # ((90 x 3) - 6) x 0.2: the seed writes "/ margin" but its example multiplies.
    value = clv(90, 3, 6, 0.2)
    assert f"{value:.2f}" == "52.80"
    assert value == pytest.approx(52.80, abs=1e-12)
    assert value != pytest.approx(((90 * 3) - 6) / 0.2)


def test_seed_000_total_life_value():
    assert tlv(20, 12, 5) == 1200
    assert tlv(400, 1, 10) == 4000
    assert tlv(400, 1, 10, referrals=4) == 20000
    assert tlv(400, 1, 10, referrals=4, referral_value=100) == 4400
    assert tlv(400, 1, 10, referrals=4, referral_value=np.nan) == 20000


def test_retention_clv_unlimited_is_the_limit_of_the_horizon():
    unlimited = retention_clv(100, 0.8, 0.1)
    assert unlimited == pytest.approx(100 * 0.8 / (1 + 0.1 - 0.8))
    assert retention_clv(100, 0.8, 0.1, 500) == pytest.approx(unlimited)
    by_hand = sum(100 * (0.8 / 1.1) ** t for t in range(1, 4))
    assert retention_clv(100, 0.8, 0.1, 3) == pytest.approx(by_hand)


def test_retention_clv_mixes_horizons_in_one_array():
    values = retention_clv(100, 0.8, 0.1, [1, 2, np.nan])
    assert values == pytest.approx([100 * 0.8 / 1.1, 100 * 0.8 / 1.1 * (1 + 0.8 / 1.1),
                                    100 * 0.8 / 0.3])


def test_retention_clv_without_discount_and_full_retention_is_linear():
    assert retention_clv(100, 1.0, 0.0, 7) == pytest.approx(700)


def test_expected_lifetime():
    assert expected_lifetime(0.25) == 4
    assert expected_lifetime(np.array([0.5, 0.1])) == pytest.approx([2, 10])


def test_shapes_follow_the_inputs():
    series = pd.Series([90.0, 100.0], index=["a", "b"])
    result = clv(series, 3, 6, 0.2)
    assert isinstance(result, pd.Series) and list(result.index) == ["a", "b"]
    assert isinstance(clv(90, 3), float)
    assert clv(np.array([[1.0, 2.0]]), 2).shape == (1, 2)


@given(aov=money, n=count, cac=money, m=share, bump=st.floats(0.01, 100))
def test_clv_rises_with_order_value_purchases_and_margin(aov, n, cac, m, bump):
    base = clv(aov, n, cac, m)
    assert clv(aov + bump, n, cac, m) >= base
    assert clv(aov, n + bump, cac, m) >= base
    assert clv(aov, n, cac + bump, m) <= base
    if aov * n - cac >= 0:  # margin scales the net amount, so it helps when that is positive
        assert clv(aov, n, cac, min(1.0, m + bump / 100)) >= base


@given(st.lists(st.tuples(money, count, money, share), min_size=1, max_size=30))
def test_array_call_equals_the_scalar_loop(rows):
    aov, n, cac, m = (np.array(c) for c in zip(*rows))
    assert clv(aov, n, cac, m) == pytest.approx([clv(*r) for r in rows])
    assert tlv(aov, n, m * 10, cac) == pytest.approx([tlv(a, b, c * 10, d)
                                                      for a, b, d, c in rows])
    assert retention_clv(aov, m, 0.1, n) == pytest.approx(
        [retention_clv(a, c, 0.1, b) for a, b, _, c in rows])


def test_levers_each_improve_clv_and_all_four_most():
    table = clv_levers(90, 3, 6, 0.2, change=0.10)
    assert list(table["lever"]) == ["Order value", "Purchases", "Acquisition cost", "Margin",
                                    "All four"]
    assert (table["gain"] > 0).all()
    assert table["gain"].iloc[-1] == table["gain"].max()
    order = table.set_index("lever").loc["Order value"]
    assert order["clv_after"] == pytest.approx(((99 * 3) - 6) * 0.2)
    assert table.set_index("lever").loc["Acquisition cost", "to"] == pytest.approx(5.4)


def test_levers_cap_the_margin_at_100_percent():
    table = clv_levers(90, 3, 6, 0.95, change=0.10).set_index("lever")
    assert table.loc["Margin", "to"] == 1.0


def test_retention_clv_fractional_periods_are_the_documented_interpolation():
    """docs/formulas-models.md: 100, 80%, 10% gives 125.62 (2), 146.38 (2.5), 164.09 (3),
    39.25 (0.5): the closed form m q (1 - q^n) / (1 - q), q = r / (1 + d)."""
    from clv_xl.engine.formulas import retention_clv

    q = 0.8 / 1.1
    got = [float(retention_clv(100, 0.8, 0.1, n)) for n in (2, 2.5, 3, 0.5)]
    assert got == pytest.approx([100 * q * (1 - q ** n) / (1 - q) for n in (2, 2.5, 3, 0.5)])
    assert [round(v, 2) for v in got] == [125.62, 146.38, 164.09, 39.25]
    assert got[0] < got[1] < got[2]
