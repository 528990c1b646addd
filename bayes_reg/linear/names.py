"""What a card or a caller can name on the linear side, without importing JAX.

The modules that do the work (:mod:`~bayes_reg.linear.regression`,
:mod:`~bayes_reg.linear.posterior`, :mod:`~bayes_reg.linear.sgd`) import these names from
here, so a card is checked against the same lists before any of them is loaded.
"""

__all__ = ["LIKELIHOODS", "PARAMETRIZATIONS", "POSTERIOR_METHODS", "OPTIMIZERS"]

#: The likelihoods and their links: identity for the first two, logit and log for the GLMs.
LIKELIHOODS = ("gaussian", "student-t", "bernoulli", "poisson")
PARAMETRIZATIONS = ("auto", "non-centred", "direct")

#: How :func:`~bayes_reg.linear.posterior.sample_posterior` draws: exact where conjugate else
#: NUTS, or as named.
POSTERIOR_METHODS = ("auto", "exact", "nuts", "laplace")

#: The optimisers of :func:`~bayes_reg.linear.sgd.sgd_path`.
OPTIMIZERS = ("sgd", "sgd-l2-loss", "adam-l2", "adamw", "l1-subgradient", "l1-proximal")
