r"""scikit-learn drop-ins: the same penalised fit, plus the posterior the penalty is a prior of.

Swap ``from sklearn.linear_model import Ridge`` for ``from bayes_reg.sklearn import Ridge``
(or :class:`Lasso`, :class:`ElasticNet`, :class:`LogisticRegression`, :class:`PoissonRegressor`):
the constructor takes scikit-learn's parameters and defaults, and ``coef_`` and ``intercept_``
are scikit-learn's fit, because the penalty is converted exactly into the prior
(:func:`bayes_reg.conventions.to_prior`, conventions ``sklearn-ridge``, ``-lasso``,
``-elasticnet``, ``-logistic``, ``-poisson``) whose mode is that fit
(:func:`~bayes_reg.linear.map.posterior_mode`). ``fit`` then draws the posterior
(:func:`~bayes_reg.linear.posterior.sample_posterior`: exact i.i.d. draws for Ridge with an
intercept, NUTS otherwise) and keeps its ArviZ ``DataTree`` as ``posterior_``. ``coef_`` is the
MAP, but predictions average over the posterior (:func:`bayes_reg.linear.predict.predict`), so
they differ from scikit-learn's plug-in ones, except Ridge's mean: a Gaussian posterior has its
mean at its mode (the two agree up to the Monte Carlo error of the draws).

The noise of least squares: the penalty is a prior in units of the noise sd :math:`\sigma`,
so the MAP does not depend on :math:`\sigma` but the posterior does. ``noise`` is the known
:math:`\sigma`, or ``"estimate"`` (default): after the MAP, :math:`\hat\sigma^2 = \mathrm{RSS}
/ (n - \mathrm{df})` with the fit's effective degrees of freedom
(:func:`~bayes_reg.linear.residual_noise.residual_noise`), kept as ``noise_``.

``fit(X, y, sample_weight=...)`` multiplies each row's log likelihood by its weight, as
scikit-learn's objectives weight each row's loss: ``coef_`` is scikit-learn's weighted fit, and a
weight of 2 counts a row twice in the posterior and in the noise estimate too (the strength's row
count :math:`n` is the weights' sum, which is scikit-learn's rescaling of Lasso's weights to sum
to the rows). Rows of weight 0 are left out of ``posterior_``.

Differences from scikit-learn: binary classes only; Poisson ``y`` must be whole-number counts
(scikit-learn takes any ``y >= 0``); no sparse input; strengths > 0 and
finite (no penalty is a flat prior); Lasso's and ElasticNet's ``max_iter`` and ``tol`` are
unused (the MAP is solved to ~1e-12); ``decision_function`` is the log-odds of
``predict_proba``, so that its sign is ``predict``'s class as scikit-learn requires.

Examples
--------
>>> import numpy as np, sklearn.linear_model
>>> from sklearn.datasets import load_diabetes
>>> X, y = load_diabetes(return_X_y=True)
>>> ours = Ridge(alpha=0.5).fit(X, y)
>>> theirs = sklearn.linear_model.Ridge(alpha=0.5).fit(X, y)
>>> bool(np.allclose(ours.coef_, theirs.coef_, rtol=1e-8))
True
>>> ours.posterior_["posterior"]["w"].shape  # 4 chains of 1000 exact draws
(4, 1000, 10)
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from bayes_reg import _validate
from bayes_reg.conventions import to_prior
from bayes_reg.inference.sampler import Sampler
from bayes_reg.linear.map import posterior_mode
from bayes_reg.linear.posterior import METHODS, sample_posterior
from bayes_reg.linear.predict import predict as predictive
from bayes_reg.linear.residual_noise import residual_noise

__all__ = ["Ridge", "Lasso", "ElasticNet", "LogisticRegression", "PoissonRegressor"]

_NOISE_DOC = """
    noise : "estimate" or float, default="estimate"
        The known noise sd, or ``"estimate"`` it (the module's formula; kept as ``noise_``)."""
_POSTERIOR_DOC = """
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


def _family(l1_ratio) -> tuple[str, float | None]:
    """scikit-learn's ``l1_ratio`` as a prior family: 0 is L2, 1 is L1, between is both."""
    rho = _validate.fraction("l1_ratio", l1_ratio)
    if rho == 0:
        return "gaussian", None
    return ("laplace", None) if rho == 1 else ("elastic-net", rho)


class _BayesLinear(BaseEstimator):
    """The shared ``fit``: validate, the prior, the MAP, the noise, the posterior."""

    _convention: str
    _likelihood = "gaussian"
    _l1_ratio = 0.0  # of the estimators without an l1_ratio parameter

    def _strength(self) -> tuple[float, str, float | None]:
        """The penalty as (strength, family, l1_ratio) for :func:`to_prior`."""
        alpha = _validate.positive("alpha", self.alpha)
        return (alpha, *_family(getattr(self, "l1_ratio", self._l1_ratio)))

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
        gaussian = self._likelihood == "gaussian"
        n = X.shape[0] if weight is None else float(weight.sum())
        # The MAP does not depend on sigma (the prior scales with it): to estimate sigma, any
        # value near the data's scale serves for the MAP first.
        sigma = (known or float(np.std(y)) or 1.0) if gaussian else None

        def prior(sigma):
            return to_prior(
                self._convention, strength, n=n, sigma=sigma, family=family, l1_ratio=l1_ratio
            )

        kw = {"likelihood": self._likelihood, "intercept": bool(self.fit_intercept)}
        kw |= {} if weight is None else {"sample_weight": weight}
        mode = posterior_mode(X, y, prior(sigma), sigma=sigma, **kw)
        self.coef_ = np.asarray(mode["w"], float)
        self.intercept_ = float(mode["b"]) if self.fit_intercept else 0.0
        if gaussian:
            sigma = self.noise_ = known or residual_noise(
                X,
                y,
                self.coef_,
                self.intercept_,
                prior=prior(sigma),
                sigma=sigma,
                fit_intercept=bool(self.fit_intercept),
                sample_weight=weight,
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
        if self._likelihood != "gaussian" or str(self.noise) == "estimate":
            return None
        try:
            return _validate.positive("noise", self.noise)
        except (TypeError, ValueError):
            raise ValueError(
                f"noise must be 'estimate' or a positive number (the known noise sd), "
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


class _Regressor(RegressorMixin, _BayesLinear):
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


class Ridge(_Regressor):
    """scikit-learn's ``Ridge`` (``||y - Xw - b||² + alpha ||w||²``) and its posterior under
    ``w ~ N(0, sigma² / alpha)``: exact draws with an intercept, else NUTS (``method="auto"``).

    Parameters
    ----------
    alpha : float, default=1.0
        scikit-learn's strength, > 0.
    fit_intercept : bool, default=True
        An unpenalised intercept (a flat prior).
    """

    __doc__ = __doc__.rstrip() + _NOISE_DOC + _POSTERIOR_DOC
    _convention = "sklearn-ridge"

    def __init__(self, alpha=1.0, *, fit_intercept=True, noise="estimate", method="auto",
                 chains=4, warmup=1000, draws=1000, seed=0, progress=False):  # fmt: skip
        self.alpha, self.fit_intercept, self.noise = alpha, fit_intercept, noise
        self.method = method
        self.chains, self.warmup, self.draws = chains, warmup, draws
        self.seed, self.progress = seed, progress


class Lasso(_Regressor):
    """scikit-learn's ``Lasso`` (``(1/2n) ||y - Xw - b||² + alpha ||w||_1``) and its posterior
    under ``w ~ Laplace(0, sigma² / (n alpha))``, by NUTS.

    Parameters
    ----------
    alpha : float, default=1.0
        scikit-learn's strength, > 0.
    fit_intercept : bool, default=True
        An unpenalised intercept (a flat prior).
    max_iter, tol : int, float, default=1000, 1e-4
        Accepted for scikit-learn's signature, unused: the MAP is solved to ~1e-12.
    """

    __doc__ = __doc__.rstrip() + _NOISE_DOC + _POSTERIOR_DOC
    _convention, _l1_ratio = "sklearn-lasso", 1.0

    def __init__(self, alpha=1.0, *, fit_intercept=True, max_iter=1000, tol=1e-4,
                 noise="estimate", method="auto", chains=4, warmup=1000, draws=1000, seed=0,
                 progress=False):  # fmt: skip
        self.alpha, self.fit_intercept, self.max_iter = alpha, fit_intercept, max_iter
        self.tol = tol
        self.noise, self.method, self.chains, self.warmup = noise, method, chains, warmup
        self.draws, self.seed, self.progress = draws, seed, progress


class ElasticNet(_Regressor):
    """scikit-learn's ``ElasticNet`` and its posterior (NUTS) under the elastic-net prior of
    ``(1/2n) ||y - Xw - b||² + alpha l1_ratio ||w||_1 + alpha (1 - l1_ratio) ||w||² / 2``.

    Parameters
    ----------
    alpha : float, default=1.0
        scikit-learn's strength, > 0.
    l1_ratio : float, default=0.5
        The L1 share, in [0, 1] (0: a Gaussian prior, 1: a Laplace one).
    fit_intercept : bool, default=True
        An unpenalised intercept (a flat prior).
    max_iter, tol : int, float, default=1000, 1e-4
        Accepted for scikit-learn's signature, unused: the MAP is solved to ~1e-12.
    """

    __doc__ = __doc__.rstrip() + _NOISE_DOC + _POSTERIOR_DOC
    _convention = "sklearn-elasticnet"

    def __init__(self, alpha=1.0, *, l1_ratio=0.5, fit_intercept=True, max_iter=1000, tol=1e-4,
                 noise="estimate", method="auto", chains=4, warmup=1000, draws=1000, seed=0,
                 progress=False):  # fmt: skip
        self.alpha, self.l1_ratio, self.fit_intercept = alpha, l1_ratio, fit_intercept
        self.max_iter, self.tol, self.noise, self.method = max_iter, tol, noise, method
        self.chains, self.warmup, self.draws = chains, warmup, draws
        self.seed, self.progress = seed, progress


class PoissonRegressor(_Regressor):
    """scikit-learn's ``PoissonRegressor`` (``(1/2n) deviance + (alpha/2) ||w||²``, log link)
    and its posterior under ``w ~ N(0, 1 / (n alpha))`` (NUTS); ``predict`` is the posterior
    mean rate. ``y`` must be whole-number counts (the Poisson likelihood is on integers).

    Parameters
    ----------
    alpha : float, default=1.0
        scikit-learn's strength, > 0.
    fit_intercept : bool, default=True
        An unpenalised intercept (a flat prior).
    """

    __doc__ = __doc__.rstrip() + _POSTERIOR_DOC
    _convention, _likelihood = "sklearn-poisson", "poisson"

    def __init__(self, alpha=1.0, *, fit_intercept=True, method="auto", chains=4, warmup=1000,
                 draws=1000, seed=0, progress=False):  # fmt: skip
        self.alpha, self.fit_intercept, self.method = alpha, fit_intercept, method
        self.chains, self.warmup, self.draws = chains, warmup, draws
        self.seed, self.progress = seed, progress

    def _target(self, X, y):
        X, y = super()._target(X, y)
        bad = y[(y < 0) | (y != np.round(y))]
        if bad.size:
            raise ValueError(
                f"PoissonRegressor needs counts y (whole numbers >= 0), got {bad[0]}: the "
                "Poisson likelihood is on integers (scikit-learn's accepts any y >= 0)"
            )
        return X, y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = True
        return tags


class LogisticRegression(ClassifierMixin, _BayesLinear):
    """scikit-learn's binary ``LogisticRegression`` and its posterior (NUTS).

    The objective is ``C sum(log-loss) + l1_ratio ||w||_1 + (1 - l1_ratio) ||w||² / 2``
    (scikit-learn's lbfgs and saga; intercept unpenalised): L2 is the prior ``w ~ N(0, C)``,
    L1 is ``Laplace(0, C)``, between is the elastic-net prior. ``coef_``, of shape
    (1, n_features) as scikit-learn's, is the MAP; ``predict_proba`` averages over the
    posterior, so it is less confident than the MAP's plug-in probability.

    Parameters
    ----------
    penalty : {"l1", "l2", "elasticnet"}, default="deprecated"
        Deprecated since scikit-learn 1.8: mapped to ``l1_ratio`` (1, 0, ``l1_ratio``) with a
        ``FutureWarning``. ``None`` (no penalty: a flat prior) is refused.
    C : float, default=1.0
        The inverse strength, > 0 and finite.
    l1_ratio : float, default=0.0
        The L1 share, in [0, 1].
    fit_intercept : bool, default=True
        An unpenalised intercept (a flat prior).
    """

    __doc__ = __doc__.rstrip() + _POSTERIOR_DOC
    _convention, _likelihood = "sklearn-logistic", "bernoulli"

    def __init__(self, penalty="deprecated", *, C=1.0, l1_ratio=0.0, fit_intercept=True,
                 method="auto", chains=4, warmup=1000, draws=1000, seed=0,
                 progress=False):  # fmt: skip
        self.penalty, self.C, self.l1_ratio = penalty, C, l1_ratio
        self.fit_intercept = fit_intercept
        self.method, self.chains, self.warmup, self.draws = method, chains, warmup, draws
        self.seed, self.progress = seed, progress

    def _strength(self):
        C = _validate.positive("C", self.C)
        if isinstance(self.penalty, str) and self.penalty == "deprecated":
            return (C, *_family(self.l1_ratio))
        ratios = {"l2": 0.0, "l1": 1.0, "elasticnet": self.l1_ratio}
        if self.penalty not in ratios:
            raise ValueError(
                f"penalty must be 'l1', 'l2' or 'elasticnet' (deprecated: use l1_ratio), got "
                f"{self.penalty!r}; no penalty is a flat prior, which this estimator does not fit"
            )
        message = "'penalty' was deprecated in scikit-learn 1.8: use l1_ratio (0 for 'l2', 1 for"
        warnings.warn(f"{message} 'l1', between for 'elasticnet')", FutureWarning, stacklevel=3)
        return (C, *_family(ratios[self.penalty]))

    def _target(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float64, ensure_min_samples=2)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:
            raise ValueError(
                "Only binary classification is supported. The type of the target is "
                f"{type_of_target(y)}: {len(self.classes_)} class(es) "
                f"{self.classes_.tolist()[:5]} (for more, use sklearn's OneVsRestClassifier)"
            )
        return X, (y == self.classes_[1]).astype(float)

    def fit(self, X, y, sample_weight=None):  # the docstring is _BayesLinear.fit's
        super().fit(X, y, sample_weight)
        self.coef_, self.intercept_ = self.coef_[None, :], np.array([self.intercept_])
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Posterior-averaged class probabilities, shape (n_samples, 2), in ``classes_`` order."""
        p = self._predictive(X)["probability"].values
        return np.column_stack([1 - p, p])

    def predict_log_proba(self, X) -> np.ndarray:
        """The log of :meth:`predict_proba`, shape (n_samples, 2)."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def decision_function(self, X) -> np.ndarray:
        """The log-odds of the posterior-averaged probability of ``classes_[1]``, shape
        (n_samples,): positive where :meth:`predict` says ``classes_[1]``. (Not the posterior
        mean of ``X w + b``: the mean of the probabilities is not the probability of the mean.)
        """
        log_p = self.predict_log_proba(X)
        return log_p[:, 1] - log_p[:, 0]

    def predict(self, X) -> np.ndarray:
        """The class of highest posterior-averaged probability, shape (n_samples,)."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags
