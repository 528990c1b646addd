"""What a card or a caller can name on the linear side, without importing JAX.

The modules that do the work (:mod:`~bayes_reg.linear.regression`,
:mod:`~bayes_reg.linear.posterior`, :mod:`~bayes_reg.linear.sgd`) import these names from
here, so a card is checked against the same lists before any of them is loaded.
"""

__all__ = [
    "LIKELIHOODS",
    "WITH_NOISE",
    "COUNTS",
    "WITH_EXPOSURE",
    "CLASSES",
    "WITH_TRIALS",
    "POSITIVE",
    "DISCRETE",
    "PARAMETRIZATIONS",
    "POSTERIOR_METHODS",
    "OPTIMIZERS",
]

#: The likelihoods and their links: identity for the first two, logit and log for the GLMs.
LIKELIHOODS = (
    "gaussian",
    "student-t",
    "bernoulli",
    "binomial",
    "beta-binomial",
    "poisson",
    "negative-binomial",
    "gamma",
)
#: Those with a noise scale ``sigma``: for the negative binomial the sd of the rate's
#: gamma-distributed multiplier (variance ``mu + sigma² mu²``); for the beta-binomial
#: ``1 / sqrt(phi)``, ``phi`` the concentration of each row's beta-distributed probability;
#: for the gamma its coefficient of variation (sd / mean; shape ``1 / sigma²``).
WITH_NOISE = ("gaussian", "student-t", "beta-binomial", "negative-binomial", "gamma")
#: Positive continuous outcomes, with a log link.
POSITIVE = ("gamma",)
#: Counts, with a log link and an optional exposure.
COUNTS = ("poisson", "negative-binomial")
#: A log link whose mean an exposure multiplies (a rate of counts, a cost over claims).
WITH_EXPOSURE = (*COUNTS, *POSITIVE)
#: Successes with a logit link: of one trial per row, or of a number of trials per row
#: (the ``trials`` model argument), overdispersed or not.
CLASSES = ("bernoulli", "binomial", "beta-binomial")
#: Those that read a number of trials per row.
WITH_TRIALS = ("binomial", "beta-binomial")
#: A probability mass rather than a density.
DISCRETE = (*CLASSES, *COUNTS)
PARAMETRIZATIONS = ("auto", "non-centred", "direct")

#: How :func:`~bayes_reg.linear.posterior.sample_posterior` draws: exact where conjugate else
#: NUTS, or as named.
POSTERIOR_METHODS = ("auto", "exact", "nuts", "laplace")

#: The optimisers of :func:`~bayes_reg.linear.sgd.sgd_path`.
OPTIMIZERS = ("sgd", "sgd-l2-loss", "adam-l2", "adamw", "l1-subgradient", "l1-proximal")
