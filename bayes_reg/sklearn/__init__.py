r"""scikit-learn drop-ins: the same penalised fit, plus the posterior the penalty is a prior of.

Swap ``from sklearn.linear_model import Ridge`` for ``from bayes_reg.sklearn import Ridge``
(or :class:`Lasso`, :class:`ElasticNet`, :class:`LogisticRegression`, :class:`PoissonRegressor`,
:class:`GammaRegressor`):
the constructor takes scikit-learn's parameters and defaults, and ``coef_`` and ``intercept_``
are scikit-learn's fit, because the penalty is converted exactly into the prior
(:func:`bayes_reg.conventions.to_prior`, conventions ``sklearn-ridge``, ``-lasso``,
``-elasticnet``, ``-logistic``, ``-poisson``, ``-gamma``) whose mode is that fit
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
(:func:`~bayes_reg.linear.residual_noise.residual_noise`), kept as ``noise_``. The gamma's
likewise: its penalty is a prior in units of its coefficient of variation :math:`\sigma`, and
``noise="estimate"`` is statsmodels' scale estimate, Pearson's chi-square over the residual
degrees of freedom, with the penalised fit's effective ones.

``fit(X, y, sample_weight=...)`` multiplies each row's log likelihood by its weight, as
scikit-learn's objectives weight each row's loss: ``coef_`` is scikit-learn's weighted fit, and a
weight of 2 counts a row twice in the posterior and in the noise estimate too (the strength's row
count :math:`n` is the weights' sum, which is scikit-learn's rescaling of Lasso's weights to sum
to the rows). Rows of weight 0 are left out of ``posterior_``.

Differences from scikit-learn: binary classes only; Poisson ``y`` must be whole-number counts
(scikit-learn takes any ``y >= 0``); gamma ``y`` must be > 0 (as scikit-learn's); no sparse
input; strengths > 0 and
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

from bayes_reg.sklearn.classifier import LogisticRegression
from bayes_reg.sklearn.regressors import ElasticNet, GammaRegressor, Lasso, PoissonRegressor, Ridge

__all__ = [
    "Ridge",
    "Lasso",
    "ElasticNet",
    "LogisticRegression",
    "PoissonRegressor",
    "GammaRegressor",
]
