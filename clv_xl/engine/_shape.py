"""Scalars in, scalars out; arrays in, arrays out; Series in, Series out."""

from __future__ import annotations

import numpy as np
import pandas as pd


def as_arrays(*values):
    """Broadcast the inputs to float arrays of one shape."""
    return np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in values))


def like_inputs(result: np.ndarray, *inputs):
    """Give ``result`` the container of the inputs: a Series keeps the first Series' index."""
    for value in inputs:
        if isinstance(value, pd.Series):
            return pd.Series(result, index=value.index)
    if np.ndim(result) == 0:
        return float(result)
    return result
