"""NET_CLV = order value x purchases x margin - acquisition cost, beside seed 004's CLV."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, strategies as st

from clv_xl.engine import formulas
from clv_xl.excel import udfs

NAN, INF = float("nan"), float("inf")
DAY = dt.datetime(2024, 3, 1)
money = st.floats(0, 1e6)
count = st.floats(0, 1e4)
share = st.floats(0, 1)


def call(name, *args):
    return getattr(udfs, name)(*args)  # looked up at call time: other tests reload udfs


def test_seed_example_both_ways():
    assert formulas.net_clv(90, 3, 6, 0.2) == pytest.approx(48.00, abs=1e-12)
    assert formulas.clv(90, 3, 6, 0.2) == pytest.approx(52.80, abs=1e-12)  # unchanged contract
    assert call("NET_CLV", 90, 3, 6, 0.2) == pytest.approx(48.00, abs=1e-12)
    assert call("CLV", 90, 3, 6, 0.2) == pytest.approx(52.80, abs=1e-12)
    assert isinstance(call("NET_CLV", 90, 3, 6, 0.2), float)
    assert call("NET_CLV", 90, 3) == 270.0  # defaults: no cost, margin 100%
    assert call("NET_CLV", 90, 3, None, None) == 270.0


@given(money, count, money, share)
def test_properties(aov, n, cac, m):
    net = formulas.net_clv(aov, n, cac, m)
    assert net == pytest.approx(aov * n * m - cac, rel=1e-12, abs=1e-9)
    # the two forms differ by the acquisition cost's unmargined share, and agree at 100%
    assert formulas.clv(aov, n, cac, m) - net == pytest.approx(cac * (1 - m), rel=1e-9, abs=1e-6)
    assert formulas.net_clv(aov, n, cac, 1.0) == pytest.approx(formulas.clv(aov, n, cac, 1.0))
    assert net <= formulas.clv(aov, n, cac, m) + 1e-6
    # never below -CAC, rises with order value, purchases and margin, falls with cost
    assert net >= -cac - 1e-9
    assert formulas.net_clv(aov + 1, n, cac, m) >= net
    assert formulas.net_clv(aov, n + 1, cac, m) >= net
    assert formulas.net_clv(aov, n, cac, min(1.0, m + 0.1)) >= net
    assert formulas.net_clv(aov, n, cac + 1, m) == pytest.approx(net - 1)


def test_arrays_equal_a_scalar_loop_and_keep_series_index():
    rng = np.random.default_rng(4)
    aov, n = rng.uniform(0, 200, 50), rng.integers(0, 20, 50).astype(float)
    cac, m = rng.uniform(0, 50, 50), rng.uniform(0, 1, 50)
    loop = [formulas.net_clv(*args) for args in zip(aov, n, cac, m)]
    np.testing.assert_allclose(formulas.net_clv(aov, n, cac, m), loop, rtol=1e-15)
    series = formulas.net_clv(pd.Series(aov, index=range(100, 150)), n, cac, m)
    assert list(series.index) == list(range(100, 150))
    grid = call("NET_CLV", aov.reshape(10, 5).tolist(), n.reshape(10, 5).tolist(),
                cac.reshape(10, 5).tolist(), m.reshape(10, 5).tolist())
    np.testing.assert_allclose(np.array(grid, dtype=float).ravel(), loop, rtol=1e-15)


@pytest.mark.parametrize("args, words", [
    (("abc", 3), ["order value", "not text", "abc"]),
    ((90, "three"), ["purchases", "not text", "three"]),
    ((None, 3), ["order value", "is blank"]),
    ((90, None), ["purchases", "is blank"]),
    ((-5, 3), ["order value", "0 or more"]),
    ((90, -3), ["purchases", "0 or more"]),
    ((90, 3, -6), ["acquisition cost", "0 or more"]),
    ((NAN, 3), ["order value", "must be a number"]),
    ((90, INF), ["purchases", "must be a number"]),
    ((True, 3), ["order value", "not TRUE"]),
    ((DAY, 3), ["order value", "not a date"]),
    ((90, 3, 6, 20), ["margin", "between 0 and 1", "20%"]),
    ((90, 3, 6, "20%"), ["margin", "not text"]),
    (([[90], [80]], [[3], [4], [5]]), ["ranges differ in size", "order value 2x1"]),
])
def test_bad_input_gives_the_same_messages_as_clv(args, words):
    result = call("NET_CLV", *args)
    assert isinstance(result, str) and result.startswith("NET_CLV: ")
    assert "could not compute" not in result and len(result) < 120
    for word in words:
        assert word.lower() in result.lower(), (word, result)
    assert result[len("NET_CLV: "):] == call("CLV", *args)[len("CLV: "):]


def test_help_says_which_is_which():
    assert "48.00" in udfs.NET_CLV.__doc__ and "52.80" in udfs.NET_CLV.__doc__
    assert "52.80" in udfs.CLV.__doc__ and "NET_CLV" in udfs.CLV.__doc__
    assert "48.00" in formulas.net_clv.__doc__ and "52.80" in formulas.net_clv.__doc__
