"""Probabilistic client models: BG/NBD and MBG/NBD purchases, Gamma-Gamma spend, discounted CLV,
Pareto/NBD, BG/BB
for fixed occasions, sBG membership renewals."""

from ._data import Compressed, compress, rfm_from_transactions
from ._fit import ModelFitError
from .bgbb import BetaGeoBetaBinom
from .bgnbd import BetaGeo
from .discounted import DAYS_PER_MONTH, model_clv
from .gamma_gamma import GammaGamma
from .mbgnbd import ModifiedBetaGeo
from .pareto_nbd import ParetoNBD
from .sbg import ShiftedBetaGeometric

__all__ = [
    "BetaGeo",
    "BetaGeoBetaBinom",
    "Compressed",
    "DAYS_PER_MONTH",
    "GammaGamma",
    "ModelFitError",
    "ModifiedBetaGeo",
    "ParetoNBD",
    "ShiftedBetaGeometric",
    "compress",
    "model_clv",
    "rfm_from_transactions",
]
