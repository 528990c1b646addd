"""The network's approximate posteriors by name, without importing JAX.

:mod:`~bayes_reg.nets.approximations` runs them; a card is checked against :data:`METHODS`
before it is loaded.
"""

__all__ = ["APPROXIMATIONS", "LABELS", "METHODS"]

#: What each method is, in a few words (report tables and figure legends).
LABELS = {
    "mc_dropout": "MC dropout",
    "deep_ensemble": "deep ensemble",
    "deep_ensemble_variance": "deep ensemble, variance head",
    "laplace": "Laplace (GGN, linearised)",
    "laplace_sampled": "Laplace (GGN, sampled)",
    "laplace_marglik": "Laplace, prior by marginal likelihood",
    "mean_field_vi": "mean-field VI",
    "swag": "SWAG",
    "posterior": "posterior (NUTS)",
}

#: The approximations :func:`~bayes_reg.nets.approximations.approximate` runs (MC dropout
#: aside), in the order reported.
APPROXIMATIONS = tuple(m for m in LABELS if m not in ("mc_dropout", "posterior"))

#: Every method a dropout card can name.
METHODS = ("mc_dropout", *APPROXIMATIONS)
