"""The dropout network's training and MC-dropout predictive against independent references.

References: Keras 3 itself (JAX backend) for the objective and for one optimizer step from the
same weights; Gal's experiment code for the tau <-> weight-decay conversion; a hand-written
numpy back-propagation for one epoch of minibatch SGD; scikit-learn's Ridge for the optimum of
the objective on a linear network; numpy forward passes and Bernoulli statistics for MC dropout.
"""

import itertools
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import NAN, X0, Y0, import_or_skip
from sklearn.linear_model import Ridge

import bayes_reg as br
from bayes_reg.data import Scaling
from bayes_reg.nets import dropout as D
from bayes_reg.nets.dropout import (
    DropoutNet,
    MCDropout,
    mc_chunk,
    mc_dropout,
    tau_from_weight_decay,
    train_dropout,
    train_runs,
    weight_decay_from_tau,
)
from bayes_reg.nets.mlp import Layer

jax.config.update("jax_enable_x64", True)

F32 = float(np.finfo(np.float32).eps)
Z = 5.0  # statistical bounds: 5 standard errors (a fixed seed makes them deterministic)


# --------------------------------------------------------------------------------------
# helpers


def _numpy_forward(params, X):
    h = np.asarray(X, float)
    for i, layer in enumerate(params):
        h = h @ np.asarray(layer.w, float) + np.asarray(layer.b, float)
        if i < len(params) - 1:
            h = np.maximum(h, 0.0)
    return h[:, 0]


def _row_gradients(weights, X, y):
    """Per-row gradients of (y_i - f(x_i))^2 for a one-hidden-layer ReLU net, by hand."""
    W0, b0, W1, b1 = (np.asarray(a, float) for a in weights)
    pre = X @ W0 + b0
    h = np.maximum(pre, 0.0)
    f = (h @ W1 + b1)[:, 0]
    r = -2.0 * (y - f)  # d loss_i / d f_i
    dh = r[:, None] * W1[:, 0][None] * (pre > 0)
    return [
        X[:, :, None] * dh[:, None, :],  # (n, d, H)
        dh,  # (n, H)
        h[:, :, None] * r[:, None, None],  # (n, H, 1)
        r[:, None],  # (n, 1)
    ]


def _flat(weights):
    return np.concatenate([np.ravel(np.asarray(a, float)) for a in weights])


def _leaves(params, run=0):
    return [np.asarray(a[run]) for layer in params for a in layer]


def _init_and_one_epoch(X, y, wd, *, hidden, batch_size, lr, optimizer, seed=3):
    """The initial weights and those after one epoch with dropout off, and the epoch's loss.

    A second run reads back the start: the same seed (hence the same initial weights) on
    zero inputs and targets without decay. Its biases start at zero, so it predicts 0 = y,
    every gradient is exactly zero and so is every SGD or Adam update.
    """
    params, loss = train_runs(
        np.stack([X, np.zeros_like(X)]), np.stack([y, np.zeros_like(y)]), [0.0, 0.0],
        [wd, 0.0], [seed, seed], hidden=hidden, epochs=1, batch_size=batch_size,
        learning_rate=lr, optimizer=optimizer, progress=False,
    )  # fmt: skip
    start = _leaves(params, 1)
    assert not start[1].any() and not start[3].any()  # zero biases: an untouched init
    return start, _leaves(params, 0), loss[0]


@pytest.fixture(scope="module")
def small_data():
    rng = np.random.default_rng(11)
    X = rng.uniform(-2, 2, (40, 3))
    X[:, 2] = 4.0 + 0.5 * X[:, 2]  # off-centre, not unit scale: standardisation matters
    y = 3.0 + 2.0 * np.sin(X[:, 0]) + 0.3 * rng.standard_normal(40)
    return X, y


TRAIN_KW = dict(dropout=0.1, hidden=(16,), epochs=6, batch_size=16, progress=False)


@pytest.fixture(scope="module")
def net(small_data):
    X, y = small_data
    return train_dropout(X, y, weight_decay=1e-3, seed=5, **TRAIN_KW)


# --------------------------------------------------------------------------------------
# tau <-> weight decay


def test_gal_experiment_tau_weight_decay_vector():
    # Gal's UCI experiment code: N = 277, p = 0.01, l = 0.1, tau = 0.541869562034 gives
    # reg = l^2 (1 - p) / (2 N tau) = 3.297848292863101e-05. Both are a handful of float64
    # operations: agreement to 1e-12 relative.
    wd = weight_decay_from_tau(0.541869562034, dropout=0.01, n=277, lengthscale=0.1)
    assert wd == pytest.approx(3.297848292863101e-05, rel=1e-12)
    tau = tau_from_weight_decay(3.297848292863101e-05, dropout=0.01, n=277, lengthscale=0.1)
    assert tau == pytest.approx(0.541869562034, rel=1e-12)


def test_default_lengthscale_is_the_uci_one():
    # l = 1e-2 in Gal & Ghahramani's UCI runs: p = 0.05, N = 100, tau = 2.
    expected = 1e-4 * 0.95 / (2 * 100 * 2.0)
    assert weight_decay_from_tau(2.0, dropout=0.05, n=100) == pytest.approx(expected, rel=1e-14)


# --------------------------------------------------------------------------------------
# Keras reference


@pytest.fixture(scope="module")
def keras():
    return import_or_skip("keras")


@pytest.fixture(scope="module")
def keras_problem():
    rng = np.random.default_rng(0)
    n, d, wd = 32, 3, 1e-3
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = rng.standard_normal(n).astype(np.float32)
    return X, y, wd


def _keras_net(keras, weights, wd):
    d, width = weights[0].shape
    model = keras.Sequential(
        [
            keras.Input((d,)),
            keras.layers.Dense(
                width, activation="relu", kernel_regularizer=keras.regularizers.L2(wd)
            ),
            keras.layers.Dense(1, kernel_regularizer=keras.regularizers.L2(wd)),
        ]
    )
    model.set_weights([np.asarray(w, np.float32) for w in weights])
    return model


def _keras_step(keras, weights, X, y, wd, optimizer):
    model = _keras_net(keras, weights, wd)
    model.compile(optimizer=optimizer, loss="mse")
    model.train_on_batch(X, y[:, None])
    return [np.asarray(v.value) for v in model.weights]


def _assert_same_step(ours, theirs, start):
    # float32 on both sides: each new weight is the old one minus a step, rounded once
    # (half an ulp), and the step itself carries the gradient's float32 rounding (~1e-6
    # relative, a far smaller absolute error). 4 eps times the largest weight (4 to 8 ulps
    # there) bounds both; Keras's Adam epsilon differs by ~4e-5 (see below).
    atol = 4 * F32 * max(np.abs(w).max() for w in start)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=atol)


@pytest.fixture(scope="module")
def sgd_step(keras_problem):
    X, y, wd = keras_problem
    return _init_and_one_epoch(X, y, wd, hidden=(50,), batch_size=32, lr=0.1, optimizer="sgd")


@pytest.fixture(scope="module")
def adam_step(keras_problem):
    X, y, wd = keras_problem
    return _init_and_one_epoch(X, y, wd, hidden=(50,), batch_size=32, lr=1e-3, optimizer="adam")


def test_objective_is_keras_loss(keras, keras_problem, sgd_step):
    X, y, wd = keras_problem
    start, _, loss = sgd_step
    params = (Layer(start[0], start[1]), Layer(start[2], start[3]))
    model = _keras_net(keras, start, wd)
    model.compile(loss="mse")
    theirs = float(model.compute_loss(x=X, y=y[:, None], y_pred=model(X)))
    ours = D._objective(params, X, y, jnp.ones(32, jnp.float32), jax.random.key(0), 0.0, wd)
    # float32 sums of 32 squared errors and ~200 squared weights: ~1e-6 relative.
    assert float(ours) == pytest.approx(theirs, rel=1e-6)
    # The loss recorded for a one-batch epoch is the objective at the start weights.
    assert loss.shape == (1,) and loss[0] == pytest.approx(theirs, rel=1e-6)

    # A short batch padded with garbage rows and masked: the mean over the real rows only.
    Xp = np.concatenate([X[:20], np.full((12, 3), 1e3, np.float32)])
    yp = np.concatenate([y[:20], np.full(12, -1e3, np.float32)])
    mask = jnp.asarray(np.arange(32) < 20, jnp.float32)
    ours = D._objective(params, Xp, yp, mask, jax.random.key(0), 0.0, wd)
    theirs = float(model.compute_loss(x=X[:20], y=y[:20, None], y_pred=model(X[:20])))
    assert float(ours) == pytest.approx(theirs, rel=1e-6)


def test_one_sgd_step_is_keras_sgd(keras, keras_problem, sgd_step):
    X, y, wd = keras_problem
    start, ours, _ = sgd_step
    theirs = _keras_step(keras, start, X, y, wd, keras.optimizers.SGD(0.1))
    _assert_same_step(ours, theirs, start)
    assert max(np.abs(a - b).max() for a, b in zip(ours, start, strict=True)) > 1e-2  # it moved


def test_one_adam_step_is_keras_adam(keras, keras_problem, adam_step):
    X, y, wd = keras_problem
    start, ours, _ = adam_step
    theirs = _keras_step(keras, start, X, y, wd, keras.optimizers.Adam(1e-3, epsilon=1e-7))
    _assert_same_step(ours, theirs, start)


# --------------------------------------------------------------------------------------
# the training loop


def test_one_epoch_uses_every_row_once_with_a_short_last_batch():
    # n = 10 rows in batches of 4: two full batches and a last one of 2 rows. With plain SGD
    # and a tiny step, one epoch moves the weights by -lr * sum over batches of
    # (mean of the batch's row gradients + wd * grad of sum w^2), evaluated at the start to
    # first order. Which 2 rows formed the short batch depends on the permutation, so all 45
    # choices are tried: exactly one must match.
    rng = np.random.default_rng(1)
    n, d, wd, bs = 10, 2, 1e-2, 4
    X, y = rng.standard_normal((n, d)), rng.standard_normal(n)
    lr = 1e-8
    start, end, loss = _init_and_one_epoch(
        X, y, wd, hidden=(6,), batch_size=bs, lr=lr, optimizer="sgd"
    )
    delta = (_flat(end) - _flat(start)) / lr
    rows = _row_gradients(start, X, y)
    decay = 3 * _flat([2 * wd * start[0], 0 * start[1], 2 * wd * start[2], 0 * start[3]])
    errors = {}
    for short in itertools.combinations(range(n), 2):
        weight = np.full(n, 1 / bs)
        weight[list(short)] = 1 / 2
        grad = _flat([np.tensordot(weight, g, axes=1) for g in rows]) + decay
        errors[short] = np.abs(delta + grad).max() / np.abs(grad).max()
    ranked = sorted(errors.values())
    # First-order error: lr * steps * |Hessian| ~ 1e-8 * 3 * O(10); float64 rounding of the
    # weights (|w| < 1) divided by lr * |grad| ~ 1e-8: ~1e-8. 1e-5 bounds both with room;
    # the next best choice is off by > 1e-2 (a wrong partition changes whole row weights).
    assert ranked[0] < 1e-5 and ranked[1] > 1e-3
    short = min(errors, key=errors.get)

    # The epoch's loss is the mean of the three batch objectives, at the start weights.
    f = _numpy_forward([Layer(start[0], start[1]), Layer(start[2], start[3])], X)
    sq = (y - f) ** 2
    in_short = np.isin(np.arange(n), short)
    reg = wd * (np.sum(start[0] ** 2) + np.sum(start[2] ** 2))
    expected = (sq[~in_short].sum() / bs + sq[in_short].mean()) / 3 + reg
    assert loss.shape == (1,)
    assert loss[0] == pytest.approx(expected, rel=1e-6)  # moved by lr * |grad|^2 ~ 1e-8


def test_full_batch_sgd_on_a_linear_net_reaches_sklearn_ridge():
    # With no hidden layer the network is linear and the objective
    # mean((y - Xw - b)^2) + wd |w|^2 (bias not decayed) is, times n, sklearn's Ridge with
    # alpha = n * wd. Full-batch gradient descent on this strongly convex quadratic
    # (Hessian eigenvalues 1.7 to 2.4 here, lr = 0.1) contracts the error by <= 0.84 per
    # step: after 600 steps it is below 1e-40 relative, so float64 rounding decides: 1e-9.
    rng = np.random.default_rng(2)
    n, wd = 50, 0.05
    X = rng.standard_normal((n, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.7 + 0.3 * rng.standard_normal(n)
    params, losses = train_runs(
        X[None], y[None], [0.0], [wd], [0], hidden=(), epochs=600, batch_size=n,
        learning_rate=0.1, optimizer="sgd", progress=False,
    )  # fmt: skip
    ridge = Ridge(alpha=n * wd, solver="cholesky").fit(X, y)
    np.testing.assert_allclose(np.asarray(params[0].w)[0, :, 0], ridge.coef_, rtol=1e-9)
    assert float(params[0].b[0, 0]) == pytest.approx(ridge.intercept_, rel=1e-9)
    objective = np.mean((y - ridge.predict(X)) ** 2) + wd * np.sum(ridge.coef_**2)
    assert losses.shape == (1, 600)
    assert losses[0, -1] == pytest.approx(objective, rel=1e-9)


def test_training_is_bit_for_bit_reproducible_and_seeded(small_data, net):
    X, y = small_data
    again = train_dropout(X, y, weight_decay=1e-3, seed=5, **TRAIN_KW)
    for a, b in zip(jax.tree.leaves(net.params), jax.tree.leaves(again.params), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(net.loss, again.loss)
    other = train_dropout(X, y, weight_decay=1e-3, seed=6, **TRAIN_KW)
    assert not np.array_equal(np.asarray(net.params[0].w), np.asarray(other.params[0].w))


def test_trained_net_fields(small_data, net):
    X, y = small_data
    assert net.loss.shape == (TRAIN_KW["epochs"],) and np.all(np.isfinite(net.loss))
    assert [layer.w.shape for layer in net.params] == [(3, 16), (16, 1)]
    assert net.params[0].w.dtype == jnp.float32
    assert net.dropout == 0.1 and net.weight_decay == 1e-3
    # tau from the decay: l^2 (1 - p) / (2 N wd), l = 1e-2, N = 40.
    assert net.tau == pytest.approx(1e-4 * 0.9 / (2 * 40 * 1e-3), rel=1e-14)
    # Standardised on the training rows with the population sd (numpy's default ddof=0).
    np.testing.assert_allclose(net.scaling.x_mean, X.mean(0), rtol=1e-14)
    np.testing.assert_allclose(net.scaling.x_sd, X.std(0), rtol=1e-14)
    assert net.scaling.y_mean == pytest.approx(y.mean(), rel=1e-14)
    assert net.scaling.y_sd == pytest.approx(y.std(), rel=1e-14)


def test_tau_gives_the_gal_weight_decay(small_data):
    X, y = small_data
    fit = train_dropout(X, y, tau=4.0, lengthscale=0.1, seed=5, **TRAIN_KW)
    assert fit.tau == 4.0
    assert fit.weight_decay == pytest.approx(0.1**2 * 0.9 / (2 * 40 * 4.0), rel=1e-14)


def test_constant_column_is_left_unscaled():
    X = np.column_stack([np.linspace(0, 1, 10), np.full(10, 3.0)])
    s = Scaling.fit(X, np.arange(10.0))
    np.testing.assert_array_equal(s.x_sd, [np.linspace(0, 1, 10).std(), 1.0])
    np.testing.assert_array_equal(s.x(X)[:, 1], np.zeros(10))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"dropout": 1.0, "tau": 1.0}, ValueError, r"dropout must lie in \[0, 1\), got 1.0"),
        ({"dropout": -0.1, "tau": 1.0}, ValueError, r"dropout must lie in \[0, 1\)"),
        ({"tau": 1.0, "weight_decay": 1e-3}, ValueError, "exactly one of tau"),
        ({}, ValueError, "exactly one of tau"),
        ({"tau": -1.0}, ValueError, "tau must be > 0"),
        ({"weight_decay": 0.0}, ValueError, "weight_decay must be > 0"),
        ({"tau": 1.0, "hidden": ()}, ValueError, "hidden must name at least one"),
        ({"tau": 1.0, "hidden": (0,)}, ValueError, "hidden layer width must be >= 1"),
        ({"tau": 1.0, "optimizer": "rmsprop"}, ValueError, "unknown optimizer 'rmsprop'"),
        ({"tau": 1.0, "epochs": 0}, ValueError, "epochs must be >= 1"),
        ({"tau": 1.0, "batch_size": 2.5}, TypeError, "batch_size must be a whole number"),
        ({"tau": 1.0, "learning_rate": 0.0}, ValueError, "learning_rate must be > 0"),
    ],
)
def test_train_dropout_refuses_bad_arguments(kwargs, error, match):
    X, y = np.ones((5, 2)), np.arange(5.0)
    with pytest.raises(error, match=match):
        train_dropout(X, y, progress=False, **kwargs)


@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        (np.ones(5), np.ones(5), r"X must be 2-D"),
        (np.ones((5, 2)), np.ones(4), "X has 5 rows but y has 4"),
        (np.ones((5, 2)), np.ones((5, 1)), "y must be 1-D"),
        (np.full((5, 2), np.nan), np.ones(5), "X must be finite"),
    ],
)
def test_train_dropout_refuses_bad_data(X, y, match):
    with pytest.raises(ValueError, match=match):
        train_dropout(X, y, tau=1.0, progress=False)


# --------------------------------------------------------------------------------------
# MC dropout


# Every MC test below runs a 3-16-1 float32 net on 40 rows with 64 passes: one compiled
# program (the dropout rate is traced), apart from the chunk sizes tried on purpose.
PASSES = 64


def test_mc_draws_shape_and_bit_for_bit_reproducibility(small_data, net):
    X, _ = small_data
    a = mc_dropout(net, X, passes=PASSES, seed=1)
    b = mc_dropout(net, X, passes=PASSES, seed=1)
    assert isinstance(a, MCDropout) and a.draws.shape == (PASSES, 40) and a.tau == net.tau
    assert a.draws.dtype == np.float64
    np.testing.assert_array_equal(a.draws, b.draws)
    c = mc_dropout(net, X, passes=PASSES, seed=2)
    assert not np.array_equal(a.draws, c.draws)
    assert np.unique(a.draws[:, 0]).size > 1  # the passes differ: dropout is on


def _chunked_draws(monkeypatch, net, X, chunk):
    monkeypatch.setitem(D.MC_MEMORY_ELEMENTS, jax.default_backend(), chunk * X.shape[0] * 16)
    assert mc_chunk(1, PASSES, X.shape[0], 16) == chunk
    return mc_dropout(net, X, passes=PASSES, seed=1).draws


def test_mc_draws_agree_across_chunk_sizes(monkeypatch, small_data, net):
    # Pass t uses the t-th key whatever the chunk, so the masks are the same; a batched
    # matmul may sum the 16-wide layer in another order: <= 16 float32 roundings of terms
    # of the draws' scale.
    X, _ = small_data
    sixteen, all_ = (_chunked_draws(monkeypatch, net, X, c) for c in (16, PASSES))
    np.testing.assert_allclose(sixteen, all_, rtol=0, atol=16 * F32 * np.abs(all_).max())


def _hand_net(params, dropout, scaling, tau=4.0):
    return DropoutNet(params, dropout, tau, 1e-3, scaling, np.zeros(1), 0.0)


def _hand_params(W0, b0, W1, b1):
    return tuple(
        Layer(jnp.asarray(w, jnp.float32), jnp.asarray(b, jnp.float32))
        for w, b in ((W0, b0), (W1, b1))
    )


def test_mc_without_dropout_is_the_deterministic_forward_in_original_units(rng):
    params = _hand_params(
        rng.standard_normal((3, 16)), rng.standard_normal(16), rng.standard_normal((16, 1)), [0.5]
    )
    scaling = Scaling(np.array([1.0, -2.0, 0.0]), np.array([2.0, 0.5, 1.0]), 10.0, 3.0)
    X = rng.standard_normal((40, 3))
    mc = mc_dropout(_hand_net(params, 0.0, scaling), X, passes=PASSES)
    ref = _numpy_forward(params, (X - scaling.x_mean) / scaling.x_sd) * 3.0 + 10.0
    # float32 network (inputs rounded to float32, ~70 flops per output) vs float64 numpy:
    # 1e-5 relative to the standardised values of order 1-10, scaled by y_sd = 3.
    for row in mc.draws:
        np.testing.assert_allclose(row, ref, rtol=0, atol=3.0 * 1e-5 * np.abs(ref).max())
    assert np.all(mc.draws == mc.draws[0])


def test_mc_mean_of_a_linear_net_is_its_inference_output(rng):
    # Positive weights, biases and inputs: the ReLU never clips, the net is linear in each
    # (independent, mean-one after scaling) mask, so E f is the full net's output. Over the
    # 40 rows the standardised errors z_i = (mean_i - f_i) / (sd_i / sqrt(T)) sum to
    # N(0, 40) (rows draw independent masks): a 5-sigma bound on their mean. Without the
    # 1 / (1 - p) scaling the mean would sit ~(1 - (1 - p)^2) f below, dozens of sigma.
    p = 0.2
    params = _hand_params(
        rng.uniform(0.1, 1, (3, 16)), rng.uniform(0, 1, 16), rng.uniform(0.1, 1, (16, 1)), [0.3]
    )
    scaling = Scaling(np.zeros(3), np.ones(3), 1.5, 2.0)
    X = rng.uniform(0.5, 1.5, (40, 3))
    mc = mc_dropout(_hand_net(params, p, scaling), X, passes=PASSES, seed=3)
    full = _numpy_forward(params, X) * 2.0 + 1.5
    z = (mc.mean - full) / (mc.draws.std(0, ddof=1) / np.sqrt(PASSES))
    assert abs(z.mean()) < Z / np.sqrt(z.size)
    # The predictive: the passes' spread plus the noise 1 / tau (tau = 4).
    assert mc.sigma == pytest.approx(0.5, rel=1e-15)
    np.testing.assert_allclose(mc.sd, np.sqrt(mc.draws.var(0) + 0.25), rtol=1e-14)
    np.testing.assert_allclose(mc.mean, mc.draws.mean(0), rtol=1e-14)


def test_mc_chunk_bounds_memory(monkeypatch):
    # 1000 passes of a 512-wide net on 10k points would hold 5e9 activations at once.
    # With the GPU budget of 2^28 elements (1 GiB of float32) a chunk fits under it and is
    # the largest that does.
    monkeypatch.setitem(D.MC_MEMORY_ELEMENTS, jax.default_backend(), 2**28)
    assert D.mc_budget() == 2**28
    chunk = mc_chunk(1, 1000, 10_000, 512)
    assert 1 <= chunk < 1000
    assert chunk * 10_000 * 512 <= 2**28 < (chunk + 1) * 10_000 * 512
    assert mc_chunk(4, 1000, 10_000, 512) * 4 * 10_000 * 512 <= 2**28
    assert mc_chunk(1, 100, 10, 50) == 100  # small problems in one go
    # When one pass alone exceeds the budget, passes go one at a time (never zero).
    assert mc_chunk(1, 10, 10**6, 10**4) == 1


def test_default_budget_is_at_most_a_gibibyte():
    budget = D.mc_budget()
    assert 1 <= budget <= 2**28
    chunk = mc_chunk(1, 1000, 10_000, 512)
    assert chunk == 1 or chunk * 10_000 * 512 <= budget


def test_mc_dropout_refuses_bad_inputs(small_data, net):
    X, _ = small_data
    with pytest.raises(ValueError, match="X has 2 columns but the model was fit on 3"):
        mc_dropout(net, X[:, :2])
    with pytest.raises(ValueError, match="passes must be >= 1"):
        mc_dropout(net, X, passes=0)


# --------------------------------------------------------------------------------------
# sharding over devices

_CHILD = r"""
import sys
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import numpy as np
from bayes_reg._sharding import shard_runs
from bayes_reg.data import Scaling
from bayes_reg.nets.dropout import DropoutNet, mc_dropout, train_runs
from bayes_reg.nets.mlp import Layer

a = dict(np.load(sys.argv[1]))
(spread,) = shard_runs(jnp.asarray(a["X"]))
(odd,) = shard_runs(jnp.asarray(a["X"][:1]))
params, losses = train_runs(
    a["X"], a["y"], a["dropout"], a["wd"], a["seeds"], hidden=(50,), epochs=1, batch_size=32,
    learning_rate=1e-3, optimizer="adam", progress=False,
)
layers = (Layer(a["w0"], a["b0"]), Layer(a["w1"], a["b1"]))
net = DropoutNet(layers, 0.1, 4.0, 1e-2, Scaling(np.zeros(3), np.ones(3), 0.0, 1.0), None, 0.0)
mc = mc_dropout(net, a["X_mc"], passes=64, seed=9)
np.savez(
    sys.argv[2],
    draws=mc.draws,
    devices=len(jax.devices()),
    spread=len(spread.sharding.device_set),
    odd=len(odd.sharding.device_set),
    params_devices=len(params[0].w.sharding.device_set),
    losses=losses,
    **{f"leaf{i}": np.asarray(x) for i, x in enumerate(jax.tree.leaves(params))},
)
"""


def test_runs_are_sharded_over_two_devices_with_the_same_result(tmp_path):
    # A child process sees two CPU devices. The shapes are those of the Keras and MC tests
    # above, so this process reuses their compiled programs for the one-device reference.
    rng = np.random.default_rng(5)
    f32 = lambda *shape: rng.standard_normal(shape).astype(np.float32)  # noqa: E731
    inputs = {
        "X": f32(2, 32, 3),
        "y": f32(2, 32),
        "dropout": np.array([0.1, 0.2]),
        "wd": np.array([1e-3, 1e-2]),
        "seeds": np.array([1, 2]),
        "w0": f32(3, 16),
        "b0": f32(16),
        "w1": f32(16, 1),
        "b1": f32(1),
        "X_mc": f32(40, 3),
    }
    np.savez(tmp_path / "in.npz", **inputs)
    env = os.environ | {"JAX_NUM_CPU_DEVICES": "2", "JAX_PLATFORMS": "cpu"}
    subprocess.run(
        [sys.executable, "-c", _CHILD, str(tmp_path / "in.npz"), str(tmp_path / "out.npz")],
        env=env,
        check=True,
        capture_output=True,
    )
    out = np.load(tmp_path / "out.npz")
    assert out["devices"] == 2
    assert out["spread"] == 2 and out["params_devices"] == 2  # 2 runs: 1 per device
    assert out["odd"] == 1  # 1 run does not divide over 2 devices: left in place

    # The same runs here, on this process's single device.
    assert len(jax.devices()) == 1
    params, losses = train_runs(
        inputs["X"], inputs["y"], inputs["dropout"], inputs["wd"], inputs["seeds"],
        hidden=(50,), epochs=1, batch_size=32, learning_rate=1e-3, optimizer="adam",
        progress=False,
    )  # fmt: skip
    # Same seeds, same masks; only XLA's batching of the vmapped matmuls differs (1 run per
    # device instead of 2), which may move float32 results by an ulp or so. One Adam step of
    # at most lr = 1e-3 from weights of scale 0.3: 1e-6 absolute is ~20 ulps there.
    for i, leaf in enumerate(jax.tree.leaves(params)):
        np.testing.assert_allclose(out[f"leaf{i}"], np.asarray(leaf), rtol=0, atol=1e-6)
    np.testing.assert_allclose(out["losses"], losses, rtol=1e-6)

    # MC dropout splits its 64 passes 32 per device; pass t keeps the t-th key, so the
    # draws are those of one device up to float32 rounding of the passes' sums (16 ulps of
    # the draws' scale).
    layers = tuple(
        Layer(jnp.asarray(inputs[w]), jnp.asarray(inputs[b]))
        for w, b in (("w0", "b0"), ("w1", "b1"))
    )
    scaling = Scaling(np.zeros(3), np.ones(3), 0.0, 1.0)
    net = DropoutNet(layers, 0.1, 4.0, 1e-2, scaling, None, 0.0)
    here = mc_dropout(net, inputs["X_mc"], passes=64, seed=9).draws
    assert out["draws"].shape == (64, 40)
    np.testing.assert_allclose(out["draws"], here, rtol=0, atol=16 * F32 * np.abs(here).max())


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, NAN])
def test_dropout_rates_outside_zero_one_are_refused(rate, no_compute):
    with pytest.raises(ValueError, match=r"dropout must (lie in \[0, 1\)|be finite)"):
        br.train_dropout(X0, Y0, dropout=rate, tau=1.0)


def test_diverging_dropout_training_names_the_learning_rate():
    with pytest.raises(ValueError, match=r"training diverged .* learning_rate 1e\+30"):
        br.train_dropout(
            X0,
            Y0,
            tau=1.0,
            hidden=(4,),
            epochs=3,
            learning_rate=1e30,
            optimizer="sgd",
            progress=False,
        )
