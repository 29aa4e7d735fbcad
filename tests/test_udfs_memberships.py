"""The membership formulas: SBG_FIT, SBG_RETENTION, SBG_SURVIVAL, MEMBER_LIFETIME, MEMBER_TLV."""

import numpy as np
import pytest

from clv_xl.engine import formulas
from clv_xl.engine.models import ShiftedBetaGeometric
from clv_xl.excel import udfs

REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]  # Fader & Hardie (2007), years 0-7


def column(values):
    return [[v] for v in values]


def fitted_table():
    return [row[:2] for row in udfs.SBG_FIT(column(REGULAR))]


def test_sbg_fit_spills_the_published_estimates_from_a_column_or_a_row():
    spilled = udfs.SBG_FIT(column(REGULAR))
    assert spilled[0] == ["Parameter", "Estimate", "Std. error"]
    rows = {row[0]: row[1:] for row in spilled[1:]}
    assert rows["alpha"][0] == pytest.approx(0.704, abs=5e-4)
    assert rows["beta"][0] == pytest.approx(1.182, abs=5e-4)
    assert rows["log-likelihood sBG"][0] == pytest.approx(-1680.3, abs=0.05)
    assert rows["alpha"][1] > 0 and rows["beta"][1] > 0
    assert rows["expected lifetime (periods)"][0].startswith("no end")
    assert udfs.SBG_FIT([REGULAR]) == spilled


def test_sbg_fit_takes_cohorts_of_different_ages_as_rows():
    cohorts = [[1000, 631, 468, 382], [800, 500, 370, None], [900, 560, None, None]]
    spilled = {row[0]: row[1] for row in udfs.SBG_FIT(cohorts)}
    model = ShiftedBetaGeometric().fit([[1000, 631, 468, 382], [800, 500, 370], [900, 560]])
    assert spilled["alpha"] == pytest.approx(model.params_["alpha"])
    assert spilled["members"] == 2700


def test_the_formulas_take_the_fitted_table_or_the_two_numbers():
    model = ShiftedBetaGeometric().fit(REGULAR)
    alpha, beta = model.params_["alpha"], model.params_["beta"]
    periods = [1, 2, 5, 12]
    expected = model.retention(np.array(periods))
    got_table = [row[0] for row in udfs.SBG_RETENTION(column(periods), fitted_table())]
    got_numbers = [row[0] for row in udfs.SBG_RETENTION(column(periods), alpha, beta)]
    np.testing.assert_allclose(got_table, expected)
    np.testing.assert_allclose(got_numbers, expected)
    assert udfs.SBG_SURVIVAL(7, fitted_table()) == pytest.approx(model.survival(7))
    assert udfs.SBG_SURVIVAL(0, alpha, beta) == 1.0


def test_member_lifetime_new_and_renewed_discounted_or_not():
    assert udfs.MEMBER_LIFETIME(1.5, 2.0) == pytest.approx(5.0)  # (alpha+beta-1)/(alpha-1)
    assert udfs.MEMBER_LIFETIME(1.5, 2.0, 3) == pytest.approx(10.0)  # (beta+n-1)/(alpha-1), n=4
    model = ShiftedBetaGeometric().fit(REGULAR)
    assert udfs.MEMBER_LIFETIME(fitted_table(), None, None, 0.1) == pytest.approx(
        model.discounted_expected_lifetime(0.1))
    assert udfs.MEMBER_LIFETIME(fitted_table(), None, 4, 0.1) == pytest.approx(
        model.discounted_expected_residual_lifetime(0.1, 4))
    never = udfs.MEMBER_LIFETIME(fitted_table())
    assert never.startswith("MEMBER_LIFETIME: ") and "discount rate" in never


def test_member_tlv_is_seed_000s_tlv_with_the_fitted_lifetime():
    periods = udfs.MEMBER_LIFETIME(1.5, 2.0)
    assert udfs.MEMBER_TLV(20, 1.5, 2.0) == pytest.approx(formulas.tlv(20, 1, periods))
    assert udfs.MEMBER_TLV(20, 1.5, 2.0, None, None, 4) == pytest.approx(5 * 20 * periods)
    assert udfs.MEMBER_TLV(20, 1.5, 2.0, None, None, 4, 50) == pytest.approx(20 * periods + 4 * 50)
    spilled = udfs.MEMBER_TLV(column([20, 30, "x", None]), 1.5, 2.0)
    assert [row[0] for row in spilled[:2]] == pytest.approx([100.0, 150.0])
    assert spilled[2][0].startswith("MEMBER_TLV: fee per period must be a number")
    assert spilled[3][0] == ""


@pytest.mark.parametrize("call, words", [
    (lambda: udfs.SBG_FIT(column([1000, 1200])), "can only fall"),
    (lambda: udfs.SBG_FIT(column([1000, 1000, 1000])), "left"),
    (lambda: udfs.SBG_FIT("members"), "must be a number"),
    (lambda: udfs.SBG_RETENTION(0, 1.0, 2.0), "1 or more"),
    (lambda: udfs.SBG_RETENTION(1.5, 1.0, 2.0), "whole number"),
    (lambda: udfs.SBG_SURVIVAL(3, 1.0), "beta is missing"),
    (lambda: udfs.SBG_SURVIVAL(3, -1.0, 2.0), "more than 0"),
])
def test_bad_input_answers_in_words(call, words):
    answer = call()
    text = answer if isinstance(answer, str) else answer[0][0]
    assert words in text and "Traceback" not in text and len(text) < 255
