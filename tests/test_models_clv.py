"""Discounted model CLV: BG/NBD purchases x Gamma-Gamma spend, monthly discounting."""

import numpy as np
import pytest

from clv_xl.engine.models import DAYS_PER_MONTH, BetaGeo, GammaGamma, model_clv

BG = BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)  # weeks
GG = GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
CLIENTS = dict(
    frequency=np.array([0.0, 2.0, 7.0, 30.0]),
    recency=np.array([0.0, 30.43, 20.0, 38.0]),
    T=np.array([38.86, 38.86, 38.0, 38.5]),
    monetary_value=np.array([0.0, 22.35, 40.0, 15.0]),
)


def test_month_is_a_twelfth_of_a_julian_year():
    assert DAYS_PER_MONTH == 30.4375


def test_undiscounted_clv_is_expected_purchases_times_spend_times_margin():
    clv = model_clv(BG, GG, **CLIENTS, months=12, monthly_discount_rate=0.0, margin=0.3)
    year_in_weeks = 365.25 / 7
    purchases = BG.conditional_expected_purchases(
        year_in_weeks, CLIENTS["frequency"], CLIENTS["recency"], CLIENTS["T"])
    spend = GG.conditional_expected_average_profit(CLIENTS["frequency"], CLIENTS["monetary_value"])
    np.testing.assert_allclose(clv, purchases * spend * 0.3, rtol=1e-12)


def test_discounting_month_by_month():
    rate = 0.02
    clv = model_clv(BG, GG, **CLIENTS, months=3, monthly_discount_rate=rate)
    spend = GG.conditional_expected_average_profit(CLIENTS["frequency"], CLIENTS["monetary_value"])
    total = 0.0
    for month in (1, 2, 3):
        end, start = (month * 30.4375 / 7, (month - 1) * 30.4375 / 7)
        in_month = (BG.conditional_expected_purchases(end, CLIENTS["frequency"], CLIENTS["recency"], CLIENTS["T"])
                    - BG.conditional_expected_purchases(start, CLIENTS["frequency"], CLIENTS["recency"], CLIENTS["T"]))
        total = total + in_month * spend / (1 + rate) ** month
    np.testing.assert_allclose(clv, total, rtol=1e-12)


def test_time_unit_is_explicit_days_and_weeks_agree():
    in_days = BetaGeo.from_params(r=0.243, alpha=4.414 * 7, a=0.793, b=2.426)
    weeks = model_clv(BG, GG, **CLIENTS, months=24, time_unit_days=7.0)
    days = model_clv(in_days, GG, CLIENTS["frequency"], CLIENTS["recency"] * 7, CLIENTS["T"] * 7,
                     CLIENTS["monetary_value"], months=24, time_unit_days=1.0)
    np.testing.assert_allclose(days, weeks, rtol=1e-10)


def test_monotone_in_horizon_and_discount():
    short = model_clv(BG, GG, **CLIENTS, months=6)
    long = model_clv(BG, GG, **CLIENTS, months=36)
    heavy_discount = model_clv(BG, GG, **CLIENTS, months=36, monthly_discount_rate=0.05)
    assert np.all(short < long)
    assert np.all(heavy_discount < long)
    assert np.all(model_clv(BG, GG, **CLIENTS, months=0) == 0)


def test_spend_without_gamma_gamma_and_scalar_inputs():
    raw = model_clv(BG, None, 2, 30.43, 38.86, 22.35, months=12, monthly_discount_rate=0.0)
    assert isinstance(raw, float)
    expected = BG.conditional_expected_purchases(365.25 / 7, 2, 30.43, 38.86) * 22.35
    assert raw == pytest.approx(expected, rel=1e-12)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="time_unit_days"):
        model_clv(BG, GG, **CLIENTS, time_unit_days=0)
    with pytest.raises(ValueError, match="months"):
        model_clv(BG, GG, **CLIENTS, months=-1)


@pytest.mark.parametrize("block", [1, 13, 26, 40])
def test_clients_in_blocks_give_the_same_answers(monkeypatch, block):
    """model_clv computes a block of clients at a time to bound its memory; the blocks
    (here of 1, 1, 2 and 3 clients at 12 months) must not change any answer."""
    from clv_xl.engine.models import discounted

    whole = model_clv(BG, GG, **CLIENTS, months=12, monthly_discount_rate=0.01)
    monkeypatch.setattr(discounted, "BLOCK_VALUES", block)
    np.testing.assert_allclose(  # equal up to the last bit (SIMD paths differ by length)
        model_clv(BG, GG, **CLIENTS, months=12, monthly_discount_rate=0.01), whole, rtol=1e-14)
    grid = {k: np.tile(v, (3, 1)) for k, v in CLIENTS.items()}  # 2-D input keeps its shape
    np.testing.assert_allclose(model_clv(BG, GG, **grid, months=12, monthly_discount_rate=0.01),
                               np.tile(whole, (3, 1)), rtol=1e-14)
