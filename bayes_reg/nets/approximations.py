"""Every approximate posterior of the network, by name, on one target.

:func:`approximate` runs the methods a user names on a
:class:`~bayes_reg.nets.target.NetTarget` and returns one
:class:`~bayes_reg.nets.target.Approximation` per method. Work is shared where the methods
share it: the deep ensemble's first member is the mode the Laplace approximation is centred
on and SWAG starts from, and the Laplace curvature is computed once for both of its
predictives. MC dropout trains a network of its own (with dropout) and is run by
:mod:`bayes_reg.nets.compare_dropout`.
"""

from __future__ import annotations

import time

from jax.typing import ArrayLike

from bayes_reg import _validate
from bayes_reg.nets.laplace import fit_laplace, laplace_predictive
from bayes_reg.nets.modes import ensemble_predictive, train_modes
from bayes_reg.nets.names import APPROXIMATIONS, LABELS, METHODS
from bayes_reg.nets.swag import swag
from bayes_reg.nets.target import Approximation, NetTarget
from bayes_reg.nets.vi import mean_field_vi

__all__ = ["APPROXIMATIONS", "LABELS", "METHODS", "approximate"]

_FROM_THE_MODE = ("deep_ensemble", "laplace", "laplace_sampled", "laplace_marglik", "swag")


def approximate(
    target: NetTarget,
    X_test: ArrayLike,
    methods=APPROXIMATIONS,
    *,
    members: int = 5,
    epochs: int = 1000,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    draws: int = 1000,
    vi_steps: int = 20_000,
    swag_epochs: int = 1000,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, Approximation]:
    """Run the named approximations of ``target``'s posterior; their predictives at ``X_test``.

    Parameters
    ----------
    target : NetTarget
    X_test : array of shape (n_test, n_features)
        In original units.
    methods : sequence of str
        Any of :data:`APPROXIMATIONS`.
    members : int
        Networks of each deep ensemble.
    epochs, batch_size, learning_rate
        Adam's training of every network to the mode (:func:`~bayes_reg.nets.modes.train_modes`).
    draws : int
        Draws of each sampled predictive (Laplace, VI, SWAG).
    vi_steps, swag_epochs : int
        Adam steps of the ELBO's optimisation; SGD epochs whose iterates SWAG collects.
    seed : int

    Returns
    -------
    dict
        Method name to :class:`~bayes_reg.nets.target.Approximation`, in the order of
        :data:`APPROXIMATIONS`.
    """
    for method in methods:
        _validate.one_of("method", method, APPROXIMATIONS)
    training = dict(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, seed=seed)
    out = {}
    if any(m in methods for m in _FROM_THE_MODE):
        modes = train_modes(target, members=members, progress=progress, **training)
        out["deep_ensemble"] = ensemble_predictive(target, modes, X_test)
        mode = modes.member(0)
    if "deep_ensemble_variance" in methods:
        heads = train_modes(
            target, members=members, variance_head=True, progress=progress, **training
        )
        out["deep_ensemble_variance"] = ensemble_predictive(target, heads, X_test)
    for prior, names in (
        ("weight_decay", ("laplace", "laplace_sampled")),
        ("marglik", ("laplace_marglik",)),
    ):
        if any(m in methods for m in names):
            start = time.perf_counter()
            fit = fit_laplace(target, mode, prior_precision=prior)
            fit_seconds = time.perf_counter() - start
            for name in names:
                predictive = "sampled" if name == "laplace_sampled" else "linearised"
                a = laplace_predictive(
                    fit, target, X_test, predictive=predictive, draws=draws, seed=seed
                )
                out[name] = a._replace(seconds=a.seconds + fit_seconds)
    if "mean_field_vi" in methods:
        out["mean_field_vi"] = mean_field_vi(
            target, X_test, steps=vi_steps, draws=draws, seed=seed, progress=progress
        )
    if "swag" in methods:
        out["swag"] = swag(
            target,
            mode,
            X_test,
            epochs=swag_epochs,
            batch_size=batch_size,
            draws=draws,
            seed=seed,
        )
    return {m: out[m] for m in APPROXIMATIONS if m in methods}
