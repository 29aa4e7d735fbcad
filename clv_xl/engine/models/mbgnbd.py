"""MBG/NBD model of repeat buying: Batislam, Denizel & Filiztekin (2007).

"Empirical validation and comparison of models for customer base analysis",
International Journal of Research in Marketing 24(3), 201-209, with the
erratum of Wagner & Hoppe (2008), IJRM 25(3), 225-226 (the conditional
expectation). As BG/NBD (Fader, Hardie & Lee 2005), except that a client may
drop out right after the *first* purchase too, not only after repeat ones:
while active, a client buys as a Poisson process with rate
lambda ~ Gamma(r, alpha); at time 0 and after each repeat purchase the client
drops out with probability p ~ Beta(a, b). So a client with x repeat
purchases has had x + 1 chances to drop out (BG/NBD: x), and a client who
never came back may be inactive (BG/NBD says alive for sure).

Every formula is BG/NBD's with that one change in the beta (dropout) part;
the gamma (purchase-rate) part is the same. The code is BetaGeo's with
``DROPOUT_SHIFT = 1``: see ``bgnbd._loglik_derivatives``. Inputs and time
unit as in ``bgnbd``.

Equations, written out (k = x + 1 dropout chances, B = Beta function):

* likelihood: L = Gamma(r+x) alpha^r / Gamma(r) * [ B(a, b+x+1)/B(a,b) (alpha+T)^-(r+x)
  + B(a+1, b+x)/B(a,b) (alpha+t_x)^-(r+x) ]
* P(alive) = 1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x))  (Batislam et al. 2007,
  appendix A, eq. (5), as cited by lifetimes)
* E[X(t)] = b/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b; t/(alpha+t))]
* E[Y(t) | x, t_x, T] = (a+b+x)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x)
  2F1(r+x, b+x+1; a+b+x; t/(alpha+T+t))] P(alive)  (Wagner & Hoppe 2008)

The equation numbers other than P(alive)'s were not checked against the PDFs.
"""

from __future__ import annotations

from .bgnbd import BetaGeo


class ModifiedBetaGeo(BetaGeo):
    """MBG/NBD model; ``fit`` estimates r, alpha, a, b by maximum likelihood.

    Same API as ``BetaGeo``: ``ModifiedBetaGeo(params={...})`` or
    ``ModifiedBetaGeo.from_params(r=..., alpha=..., a=..., b=...)``, then
    ``fit``, ``p_alive``, ``conditional_expected_purchases``,
    ``expected_purchases_new``, ``prob_no_purchase``, ``loglik``, ``sample``.
    """

    MODEL = "MBG/NBD"
    DROPOUT_SHIFT = 1  # also a dropout chance right after the first purchase

    def fit(self, frequency, recency, T, weights=None, time_unit_days=None):
        """Maximum-likelihood estimates of r, alpha, a, b; returns self.

        Maximises the MBG/NBD log-likelihood (Batislam, Denizel & Filiztekin
        2007, appendix A; the sum over clients of log L in the module
        docstring) over distinct (frequency, recency, T) rows weighted by
        their count. Raises ModelFitError when the data cannot support a fit.
        """
        return super().fit(frequency, recency, T, weights, time_unit_days)

    def loglik(self, frequency, recency, T):
        """Per-client log-likelihood, Batislam, Denizel & Filiztekin (2007), appendix A.

        log[Gamma(r+x) alpha^r / Gamma(r) (B(a,b+x+1)/B(a,b) (alpha+T)^-(r+x)
        + B(a+1,b+x)/B(a,b) (alpha+t_x)^-(r+x))].
        """
        return super().loglik(frequency, recency, T)

    def p_alive(self, frequency, recency, T):
        """Probability the client is still active at T.

        Batislam, Denizel & Filiztekin (2007), appendix A, eq. (5):
        1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x)); below 1 even for x = 0.
        """
        return super().p_alive(frequency, recency, T)

    def conditional_expected_purchases(self, t, frequency, recency, T):
        """Expected purchases in (T, T+t] given the history (x, t_x, T).

        Batislam, Denizel & Filiztekin (2007) as corrected by Wagner & Hoppe
        (2008): (a+b+x)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x)
        2F1(r+x, b+x+1; a+b+x; t/(alpha+T+t))] P(alive), computed through
        Euler's transformation as in BetaGeo (no overflow for heavy buyers).
        """
        return super().conditional_expected_purchases(t, frequency, recency, T)

    def expected_purchases_new(self, t):
        """Expected repeat purchases in (0, t] by a newly acquired client.

        Batislam, Denizel & Filiztekin (2007):
        b/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b; t/(alpha+t))],
        the conditional expectation at x = t_x = T = 0.
        """
        return super().expected_purchases_new(t)

    def prob_no_purchase(self, t, frequency, recency, T):
        """Probability of no purchase in (T, T+t] given the history: a churn measure.

        1 - P(alive) (1 - ((alpha+T)/(alpha+T+t))^(r+x)), with the MBG/NBD
        P(alive) above: dropout happens only at a purchase, so an active
        client's chance of no purchase is the same gamma-Poisson term as in
        BG/NBD (posterior lambda ~ Gamma(r+x, alpha+T)).
        """
        return super().prob_no_purchase(t, frequency, recency, T)

    def sample(self, T, seed=None):
        """Draw (frequency, recency) for clients observed for T, from the model.

        The generative process of Batislam, Denizel & Filiztekin (2007),
        section 2: lambda ~ Gamma(r, alpha), p ~ Beta(a, b); the client drops
        out at time 0 (right after the first purchase) and after each repeat
        purchase with probability p, so x = min(N(T), D - 1) with
        D ~ Geometric(p) on 1, 2, ...; t_x as in BetaGeo.sample.
        """
        return super().sample(T, seed)
