"""The classifier: scikit-learn's binary ``LogisticRegression`` with the posterior its penalty
is a prior of."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import validate_data

from bayes_reg import _validate
from bayes_reg.sklearn.base import POSTERIOR_DOC, BayesLinear, penalty_family

__all__ = ["LogisticRegression"]


class LogisticRegression(ClassifierMixin, BayesLinear):
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

    __doc__ = __doc__.rstrip() + POSTERIOR_DOC
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
            return (C, *penalty_family(self.l1_ratio))
        ratios = {"l2": 0.0, "l1": 1.0, "elasticnet": self.l1_ratio}
        if self.penalty not in ratios:
            raise ValueError(
                f"penalty must be 'l1', 'l2' or 'elasticnet' (deprecated: use l1_ratio), got "
                f"{self.penalty!r}; no penalty is a flat prior, which this estimator does not fit"
            )
        message = "'penalty' was deprecated in scikit-learn 1.8: use l1_ratio (0 for 'l2', 1 for"
        warnings.warn(f"{message} 'l1', between for 'elasticnet')", FutureWarning, stacklevel=3)
        return (C, *penalty_family(ratios[self.penalty]))

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

    def fit(self, X, y, sample_weight=None):  # the docstring is BayesLinear.fit's
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
