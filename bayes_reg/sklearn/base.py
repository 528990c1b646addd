"""The drop-ins' shared part: validating, converting the penalty into its prior, the MAP, the
noise, the posterior (:class:`BayesLinear`), and the regressors' predictions
(:class:`Regressor`)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from bayes_reg import _validate
from bayes_reg.conventions import SCALED, to_prior
from bayes_reg.inference.sampler import Sampler
from bayes_reg.linear.map import posterior_mode
from bayes_reg.linear.posterior import METHODS, sample_posterior
from bayes_reg.linear.predict import predict as predictive
from bayes_reg.linear.residual_noise import noise_name, residual_noise

__all__ = ["BayesLinear", "Regressor", "NOISE_DOC", "POSTERIOR_DOC", "penalty_family"]

NOISE_DOC = """
    noise : "estimate" or float, default="estimate"
        The known noise sd, or ``"estimate"`` it (the module's formula; kept as ``noise_``)."""
POSTERIOR_DOC = """
    method : {"auto", "exact", "nuts", "laplace"}, default="auto"
        How the posterior is drawn (:func:`~bayes_reg.linear.posterior.sample_posterior`);
        ``"laplace"`` refuses the kinked priors of L1 penalties.
    chains, warmup, draws : int, default=4, 1000, 1000
        The sampler's budget (exact draws use ``chains * draws``).
    seed : int, default=0
        Seeds the posterior draws and the predictive draws.
    progress : bool, default=False
        Show NUTS's progress bar.

    Attributes
    ----------
    coef_, intercept_ : ndarray of shape (n_features,), float
        The MAP: scikit-learn's fit (intercept 0.0 with ``fit_intercept=False``).
    posterior_ : DataTree
        The posterior draws (``w``, dim ``feature``; ``b``), in ArviZ's layout.
    n_features_in_, feature_names_in_
        As in scikit-learn."""


def penalty_family(l1_ratio) -> tuple[str, float | None]:
    """scikit-learn's ``l1_ratio`` as a prior family: 0 is L2, 1 is L1, between is both."""
    rho = _validate.fraction("l1_ratio", l1_ratio)
    if rho == 0:
        return "gaussian", None
    return ("laplace", None) if rho == 1 else ("elastic-net", rho)


class BayesLinear(BaseEstimator):
    """The shared ``fit``: validate, the prior, the MAP, the noise, the posterior."""

    _convention: str
    _likelihood = "gaussian"
    _l1_ratio = 0.0  # of the estimators without an l1_ratio parameter

    def _strength(self) -> tuple[float, str, float | None]:
        """The penalty as (strength, family, l1_ratio) for :func:`to_prior`."""
        alpha = _validate.positive("alpha", self.alpha)
        return (alpha, *penalty_family(getattr(self, "l1_ratio", self._l1_ratio)))

    def _target(self, X, y):
        return validate_data(self, X, y, dtype=np.float64, y_numeric=True, ensure_min_samples=2)

    def fit(self, X, y, sample_weight=None):
        """Fit the MAP (scikit-learn's fit) and draw the posterior.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
            Each row's loss (log likelihood) times its weight, as in scikit-learn: a weight
            of 2 counts a row twice, 0 leaves it out (rows of weight 0 are left out of
            ``posterior_``); the strength's row count is the weights' sum.

        Returns
        -------
        self
        """
        strength, family, l1_ratio = self._strength()
        _validate.one_of("method", self.method, METHODS)
        sampler = Sampler(chains=self.chains, warmup=self.warmup, draws=self.draws)
        known = self._known_noise()
        X, y = self._target(X, y)
        weight = _validate.sample_weight(sample_weight, X.shape[0])
        if weight is not None:
            # Rows of weight 0 are left out (the same posterior, and the same draws as
            # without them); weights of 1 are no weights (the same draws as without).
            X, y, weight = X[weight > 0], y[weight > 0], weight[weight > 0]
            if len(y) < 2:
                raise ValueError(
                    f"sample_weight is above zero for {len(y)} row: at least 2 are needed"
                )
            weight = None if (weight == 1).all() else weight
        scaled = self._likelihood in SCALED
        n = X.shape[0] if weight is None else float(weight.sum())
        # The MAP does not depend on sigma (the prior scales with it): to estimate sigma, any
        # value near the data's scale serves for the MAP first.
        start = float(np.std(y)) if self._likelihood == "gaussian" else 1.0
        sigma = (known or start or 1.0) if scaled else None

        def prior(sigma):
            return to_prior(
                self._convention, strength, n=n, sigma=sigma, family=family, l1_ratio=l1_ratio
            )

        kw = {"likelihood": self._likelihood, "intercept": bool(self.fit_intercept)}
        kw |= {} if weight is None else {"sample_weight": weight}
        mode = posterior_mode(X, y, prior(sigma), sigma=sigma, **kw)
        self.coef_ = np.asarray(mode["w"], float)
        self.intercept_ = float(mode["b"]) if self.fit_intercept else 0.0
        if scaled:
            sigma = self.noise_ = known or residual_noise(
                X,
                y,
                self.coef_,
                self.intercept_,
                prior=prior(sigma),
                sigma=sigma,
                fit_intercept=bool(self.fit_intercept),
                sample_weight=weight,
                likelihood=self._likelihood,
            )
        self.posterior_ = sample_posterior(
            X,
            y,
            prior=prior(sigma),
            sigma=sigma,
            method=self.method,
            sampler=sampler,
            seed=self.seed,
            progress=self.progress,
            feature_names=getattr(self, "feature_names_in_", None),
            **kw,
        ).tree
        return self

    def _known_noise(self) -> float | None:
        if self._likelihood not in SCALED or str(self.noise) == "estimate":
            return None
        try:
            return _validate.positive("noise", self.noise)
        except (TypeError, ValueError):
            raise ValueError(
                "noise must be 'estimate' or a positive number (the known "
                f"{noise_name(self._likelihood)}), "
                f"got {self.noise!r}"
            ) from None

    def _predictive(self, X, coverage: float = 0.9):
        check_is_fitted(self, "posterior_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return predictive(self.posterior_, X, coverage=coverage, seed=self.seed)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        return tags


class Regressor(RegressorMixin, BayesLinear):
    """The regressors' predictions: mean (and sd), intervals and quantiles."""

    def predict(self, X, return_std: bool = False):
        """The posterior predictive mean at ``X`` (and sd), as ``BayesianRidge``'s ``predict``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        return_std : bool, default=False
            Also return the predictive sd (the coefficients' uncertainty and the noise).

        Returns
        -------
        y_mean : ndarray of shape (n_samples,)
            The mean over the posterior, not the MAP's plug-in ``X @ coef_ + intercept_``.
        y_std : ndarray of shape (n_samples,), only with ``return_std=True``
        """
        pred = self._predictive(X)
        return (pred["mean"].values, pred["sd"].values) if return_std else pred["mean"].values

    def predict_interval(self, X, coverage: float = 0.9) -> np.ndarray:
        """Central posterior predictive intervals (skpro's name; an array, not a DataFrame).

        ``X`` of shape (n_samples, n_features), ``coverage`` in (0, 1). Returns an array of
        shape (n_samples, 2): the ``(1 - coverage) / 2`` and ``(1 + coverage) / 2`` quantiles
        of the predictive draws, lower and upper.
        """
        pred = self._predictive(X, coverage)
        return np.column_stack([pred["lower"].values, pred["upper"].values])

    def predict_quantiles(self, X, alpha=(0.05, 0.5, 0.95)) -> np.ndarray:
        """Quantiles of the posterior predictive (skpro's name; an array, not a DataFrame).

        ``X`` of shape (n_samples, n_features), ``alpha`` a probability or a sequence of them,
        each in (0, 1). Returns an array of shape (n_samples, len(alpha)): the predictive
        draws' quantiles, one column per ``alpha``, in its order.
        """
        probs = np.atleast_1d(np.asarray(alpha, float))
        for p in probs:
            _validate.fraction("alpha", p, low_open=True, high_open=True)
        draws = self._predictive(X)["y"].values
        return np.quantile(draws.reshape(-1, draws.shape[-1]), probs, axis=0).T
