r"""Weight-decay training of a linear model along a grid of strengths, in one jitted call.

Every optimiser minimises (or, for AdamW, does *not* minimise) a penalised version of the
minibatch loss used by d2l.ai and :func:`optax.l2_loss`,

.. math::

    L_B(w, b) = \frac{1}{|B|} \sum_{i \in B} \tfrac12 (x_i^\top w + b - y_i)^2 ,

with strength :math:`\lambda` (``wd``) applied to the weights only: the bias is never
decayed (an :mod:`optax` mask). Writing :math:`g = \nabla_w L_B`, :math:`\eta` = ``lr``:

==================  =================================================================
``"sgd"``           coupled weight decay, ``chain(add_decayed_weights(wd, mask), sgd(lr))``:
                    :math:`w \leftarrow w - \eta (g + \lambda w)`
``"sgd-l2-loss"``   ``sgd(lr)`` on :math:`L_B + \tfrac{\lambda}{2}\|w\|^2`; the same update
                    as ``"sgd"``, so the same path (d2l's ``loss + lambd * l2_penalty(w)``)
``"adam-l2"``       ``adam(lr)`` on :math:`L_B + \tfrac{\lambda}{2}\|w\|^2`: the penalty
                    gradient :math:`\lambda w` passes through Adam's rescaling
``"adamw"``         ``adamw(lr, weight_decay=wd, mask=...)``: :math:`w \leftarrow w - \eta
                    (\hat m / (\sqrt{\hat v} + \epsilon) + \lambda w)`, decay *decoupled*
                    from the rescaling, so it is the minimiser of no fixed penalised loss
``"l1-subgradient"``  :math:`w \leftarrow w - \eta (g + \lambda\,\mathrm{sign}(w))`
                    (``sign(0) = 0``); weights hover around zero but are never exactly 0
``"l1-proximal"``   ISTA: :math:`u = w - \eta g`, then
                    :math:`w \leftarrow \mathrm{sign}(u) \max(|u| - \eta\lambda, 0)`
==================  =================================================================

The bias always takes the plain gradient step of its optimiser (``b ← b − η ∂L/∂b`` for
the SGD variants).

Conventions. For the L2 optimisers the strength is d2l's ``lambd`` and optax's ``wd``; at
the full-batch fixed point ``"sgd"`` minimises :math:`\frac{1}{n}\sum \tfrac12 r_i^2 +
\tfrac{\lambda}{2}\|w\|^2`, i.e. scikit-learn ``Ridge(alpha = n λ)`` (``convention =
"d2l"``). For the L1 optimisers the objective :math:`\frac{1}{2n}\sum r_i^2 +
\lambda\|w\|_1` is exactly scikit-learn's ``Lasso(alpha = λ)`` objective (``convention =
"sklearn-lasso"``).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import xarray as xr
from jax.typing import ArrayLike

from bayes_reg import _training, _validate
from bayes_reg._training import TrainState
from bayes_reg.linear.names import OPTIMIZERS

__all__ = ["OPTIMIZERS", "sgd_path"]

_L1 = ("l1-subgradient", "l1-proximal")
# Optimisers whose penalty enters through the loss rather than a gradient transformation.
_PENALTY_IN_LOSS = ("sgd-l2-loss", "adam-l2")


class Params(NamedTuple):
    """Linear-model parameters: ``y ≈ X @ w + b``."""

    w: jax.Array
    b: jax.Array


class EpochInfo(NamedTuple):
    """Full-data losses recorded at the end of an epoch."""

    train_loss: jax.Array
    test_loss: jax.Array
    w: jax.Array | None  # the weights, when the path records them


# Decay the weights, never the bias.
_MASK = Params(w=True, b=False)


def _loss(params: Params, X: jax.Array, y: jax.Array) -> jax.Array:
    """mean(r²/2), the d2l / ``optax.l2_loss`` convention."""
    return optax.l2_loss(X @ params.w + params.b, y).mean()


def _add_l1_subgradient(wd) -> optax.GradientTransformation:
    """``g ↦ g + wd · sign(w)``: a subgradient of ``wd ‖w‖₁`` (``sign(0) = 0``)."""

    def update_fn(updates, state, params):
        return jax.tree.map(lambda g, p: g + wd * jnp.sign(p), updates, params), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update_fn)


def _soft_threshold(threshold) -> optax.GradientTransformation:
    """Turn a step ``u`` into ``prox(w + u) − w``, the L1 proximal map with ``threshold``."""

    def prox(u, p):
        z = p + u
        return jnp.sign(z) * jnp.maximum(jnp.abs(z) - threshold, 0.0) - p

    def update_fn(updates, state, params):
        return jax.tree.map(prox, updates, params), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update_fn)


def _optimizer(name: str, lr, wd) -> optax.GradientTransformation:
    """The optax transformation for ``name`` at learning rate ``lr`` and strength ``wd``."""
    if name == "sgd":
        return optax.chain(optax.add_decayed_weights(wd, mask=_MASK), optax.sgd(lr))
    if name == "sgd-l2-loss":
        return optax.sgd(lr)
    if name == "adam-l2":
        return optax.adam(lr)
    if name == "adamw":
        return optax.adamw(lr, weight_decay=wd, mask=_MASK)
    if name == "l1-subgradient":
        return optax.chain(optax.masked(_add_l1_subgradient(wd), _MASK), optax.sgd(lr))
    if name == "l1-proximal":
        return optax.chain(optax.sgd(lr), optax.masked(_soft_threshold(lr * wd), _MASK))
    raise ValueError(f"unknown optimizer {name!r}")  # unreachable past validation


def _objective(name: str, wd, params: Params, X, y) -> jax.Array:
    """The minibatch loss the optimiser differentiates (penalty included where it belongs)."""
    loss = _loss(params, X, y)
    if name in _PENALTY_IN_LOSS:
        loss = loss + 0.5 * wd * jnp.sum(params.w**2)
    return loss


def _fit_one(
    wd, lr, X, y, X_test, y_test, params0, epoch_keys, *, optimizer, batch_size, record_weights
):
    """Train at one strength; the same init and minibatch keys for every strength."""
    opt = _optimizer(optimizer, lr, wd)
    grad = jax.grad(partial(_objective, optimizer, wd))
    n = X.shape[0]
    n_batches = n // batch_size

    def step(state: TrainState, idx):
        g = grad(state.params, X[idx], y[idx])
        updates, opt_state = opt.update(g, state.opt_state, state.params)
        return TrainState(optax.apply_updates(state.params, updates), opt_state), None

    def epoch(state: TrainState, key):
        # A fresh permutation each epoch; the last n % batch_size rows of it are dropped.
        # Full batch too: the order changes only the rounding of the gradient's sum, but a
        # fixed order rounds the same way every step, and near the optimum, where the gradient
        # is mostly rounding, Adam follows that bias (d2l, Adam lr 1e-3, 100,000 steps: 1.2-1.7%
        # from the MAP with a fixed order, 0.07-0.6% with a fresh one each epoch).
        order = jax.random.permutation(key, n)[: n_batches * batch_size]
        state, _ = jax.lax.scan(step, state, order.reshape(n_batches, batch_size))
        test = _loss(state.params, X_test, y_test) if X_test is not None else jnp.nan
        w = state.params.w if record_weights else None
        return state, EpochInfo(_loss(state.params, X, y), test, w)

    state, info = jax.lax.scan(epoch, TrainState(params0, opt.init(params0)), epoch_keys)
    return state.params, info


def _path(
    strengths,
    lr,
    init_scale,
    X,
    y,
    X_test,
    y_test,
    key,
    *,
    optimizer,
    epochs,
    batch_size,
    record_weights,
):
    """vmap of :func:`_fit_one` over ``strengths`` (traced: new values do not recompile)."""
    # The key is made in here from a uint32 seed: a key made outside is a compilation of
    # its own, which a first call would wait for.
    init_key, batch_key = jax.random.split(jax.random.key(key))
    w0 = init_scale * jax.random.normal(init_key, (X.shape[1],), dtype=X.dtype)
    params0 = Params(w=w0, b=jnp.zeros((), X.dtype))
    epoch_keys = jax.random.split(batch_key, epochs)
    fit = partial(
        _fit_one, optimizer=optimizer, batch_size=batch_size, record_weights=record_weights
    )
    return jax.vmap(fit, in_axes=(0,) + (None,) * 7)(
        strengths, lr, X, y, X_test, y_test, params0, epoch_keys
    )


# XLA's CPU backend spends most of a first call optimising this small program (0.58 s of
# 0.78 s at the d2l size); level 0 compiles it in 0.29 s and runs it in 0.027 s instead of
# 0.014 s: for a short run (the chapter's 400 steps) the first result comes 35% sooner. A
# long run is worth the optimisation: 200,000 full-batch epochs at 6 strengths with a test
# set take 3.6 s optimised against 6.6 s at level 0.
_STATIC = ("optimizer", "epochs", "batch_size", "record_weights")
_path_quick = jax.jit(
    _path, static_argnames=_STATIC, compiler_options={"xla_backend_optimization_level": 0}
)
_path_optimised = jax.jit(_path, static_argnames=_STATIC)
_QUICK_STEPS = 10_000  # optimiser steps per strength up to which compiling fast pays


def sgd_path(
    X: ArrayLike,
    y: ArrayLike,
    strengths: ArrayLike,
    *,
    optimizer: str = "sgd",
    lr: float,
    epochs: int,
    batch_size: int,
    seed: int = 0,
    X_test: ArrayLike | None = None,
    y_test: ArrayLike | None = None,
    init_scale: float = 1.0,
    feature_names: list[str] | None = None,
    record_weights: bool = False,
) -> xr.Dataset:
    r"""Train ``y ≈ X @ w + b`` by minibatch weight decay at every strength of a grid.

    All strengths share the data, the initial weights :math:`w_0 \sim N(0,
    \mathrm{init\_scale}^2)` (d2l: N(0, 1)), :math:`b_0 = 0` and the minibatch order, so
    the curves differ only through the strength. One jitted call runs the whole grid:
    ``vmap`` over strengths, ``lax.scan`` over epochs and over minibatches within each.
    Each epoch draws a fresh permutation of the rows and cuts it into
    ``n // batch_size`` batches of exactly ``batch_size`` rows; when ``n % batch_size !=
    0`` the remaining rows of that permutation are skipped that epoch (d2l's n = 20,
    batch 5 has no remainder). The update of each optimiser is written out in the module
    docstring.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
    strengths : array of shape (n_strengths,)
        Weight-decay strengths, finite and >= 0 (d2l ``lambd`` = optax ``wd``; the
        Lasso ``alpha`` for the L1 optimisers).
    optimizer : {"sgd", "sgd-l2-loss", "adam-l2", "adamw", "l1-subgradient", "l1-proximal"}
    lr : float
        Learning rate, > 0.
    epochs : int
        Passes over the training data, >= 1.
    batch_size : int
        Rows per minibatch, 1 <= batch_size <= n_samples.
    seed : int
        Seeds the initial weights and the minibatch order.
    X_test : array of shape (n_test, n_features), optional
    y_test : array of shape (n_test,), optional
        A held-out set; when given, ``test_loss`` is recorded.
    init_scale : float
        Standard deviation of the initial weights, >= 0.
    feature_names : list of str, optional
        Coordinates of dim ``feature``; default ``0, 1, ...``.
    record_weights : bool
        Also keep the weights at the end of every epoch as ``w_epoch`` (strength, epoch,
        feature), to follow the gap to the MAP over training.

    Returns
    -------
    xarray.Dataset
        Dims ``strength``, ``feature``, ``epoch`` (1-based). Variables ``w``
        (strength, feature), ``b`` (strength), ``w_norm`` (strength; the Euclidean norm
        of ``w``), ``train_loss`` and, with a test set, ``test_loss`` (strength, epoch):
        mean(r²/2) on the full set at the end of each epoch. Attributes record
        ``optimizer``, ``lr``, ``epochs``, ``batch_size``, ``seed``, ``init_scale`` and
        ``convention`` (``"d2l"`` or ``"sklearn-lasso"``).

    Raises
    ------
    ValueError
        For invalid inputs, and when training diverged (a non-finite final loss) at some
        strength: the message names the strengths and the learning rate.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = 2.0 * X[:, 0] + 1.0
    >>> path = sgd_path(X, y, [0.0, 1.0], lr=0.1, epochs=500, batch_size=4)
    >>> path.w.sel(feature=0).values.astype(float).round(3).tolist()  # Ridge(alpha=4): 10/9
    [2.0, 1.111]
    """
    X, y = _validate.design(X, y)
    optimizer = _validate.one_of("optimizer", optimizer, OPTIMIZERS)
    s = _validate.grid("strengths", strengths, allow_zero=True)
    lr = _validate.positive("lr", lr)
    epochs = _validate.positive_int("epochs", epochs)
    batch_size = _validate.positive_int("batch_size", batch_size)
    seed = _validate.integer("seed", seed)
    init_scale = _validate.positive("init_scale", init_scale, allow_zero=True)
    n, d = X.shape
    if batch_size > n:
        raise ValueError(f"batch_size must be <= n_samples ({n}), got {batch_size}")
    X_test, y_test = _validate.held_out(X_test, y_test, d)
    names = list(range(d)) if feature_names is None else _validate.feature_names(feature_names, d)

    # NumPy arrays go straight into the compiled program (no conversion programs first).
    quick = epochs * (n // batch_size) <= _QUICK_STEPS
    params, info = (_path_quick if quick else _path_optimised)(
        s,
        lr,
        init_scale,
        X,
        y,
        X_test,
        y_test,
        np.uint32(seed % 2**32),
        optimizer=optimizer,
        epochs=epochs,
        batch_size=batch_size,
        record_weights=bool(record_weights),
    )
    w, b = np.asarray(params.w), np.asarray(params.b)
    train_loss, test_loss = np.asarray(info.train_loss), np.asarray(info.test_loss)
    final = train_loss[:, -1] + (test_loss[:, -1] if X_test is not None else 0.0)
    # The expected loss at the initial weights (b = 0), where training started.
    with np.errstate(over="ignore"):  # inf: then only a non-finite loss is divergence
        x_sq, y_sq = np.mean(np.sum(X.astype(float) ** 2, axis=1)), np.mean(y.astype(float) ** 2)
        start = (np.float64(init_scale) ** 2 * x_sq + y_sq) / 2
    diverged = (
        _training.diverged(start, train_loss[:, -1])
        | ~np.isfinite(final)
        | ~np.isfinite(w).all(axis=1)
        | ~np.isfinite(b)
    )
    if diverged.any():
        raise ValueError(
            f"training diverged (final loss non-finite or over {_training.EXPLODED:g} times the"
            f" {start:.3g} it started from) at strength(s) {s[diverged].tolist()}"
            f" with lr={lr}; lower lr"
        )

    data_vars = {
        "w": (("strength", "feature"), w),
        "b": ("strength", b),
        "w_norm": ("strength", np.linalg.norm(w, axis=1)),
        "train_loss": (("strength", "epoch"), train_loss),
    }
    if X_test is not None:
        data_vars["test_loss"] = (("strength", "epoch"), test_loss)
    if record_weights:
        data_vars["w_epoch"] = (("strength", "epoch", "feature"), np.asarray(info.w))
    return xr.Dataset(
        data_vars,
        coords={"strength": s, "feature": names, "epoch": np.arange(1, epochs + 1)},
        attrs={
            "optimizer": optimizer,
            "lr": lr,
            "epochs": epochs,
            "batch_size": batch_size,
            "seed": int(seed),
            "init_scale": init_scale,
            "convention": "sklearn-lasso" if optimizer in _L1 else "d2l",
            "loss": "mean(r**2 / 2)",
        },
    )
