"""The dropout MLP on a GPU: it runs there, agrees with the CPU, and MC passes stay bounded.

Marked ``gpu``: skipped where JAX sees no GPU (CI has none). Run on a GPU machine with
``JAX_PLATFORMS= python -m pytest -m gpu tests/test_gpu.py`` (the empty value lets JAX pick
the GPU; the test configuration otherwise pins the CPU).
"""

import jax
import numpy as np
import pytest

import bayes_reg as br

pytestmark = pytest.mark.gpu


def _platform(x) -> str:
    return next(iter(x.devices())).platform


def test_dropout_training_and_mc_passes_run_on_the_gpu_and_match_the_cpu():
    data = br.toy_gap(n=60, n_test=50)
    kwargs = dict(dropout=0.1, tau=100.0, lengthscale=2.0, hidden=(32,), epochs=50, batch_size=16)
    net = br.train_dropout(data.X_train, data.y_train, progress=False, **kwargs)
    assert _platform(net.params[0].w) == "gpu"
    mc = br.mc_dropout(net, data.X_test, passes=200, seed=1)
    with jax.default_device(jax.devices("cpu")[0]):
        net_cpu = br.train_dropout(data.X_train, data.y_train, progress=False, **kwargs)
        mc_cpu = br.mc_dropout(net_cpu, data.X_test, passes=200, seed=1)
    # The same keys draw the same masks on both backends; float32 matmuls and Adam's
    # updates differ in rounding, which 50 epochs amplify to about 1e-4 of the outputs.
    np.testing.assert_allclose(
        mc.draws, mc_cpu.draws, rtol=0, atol=1e-3 * np.abs(mc_cpu.draws).max()
    )


def test_a_thousand_passes_of_a_wide_net_over_ten_thousand_points_fit_in_memory():
    # A single vmap over all passes would ask XLA for ~38 GiB; the chunked passes must not.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10_000, 16)).astype(np.float32)
    y = X[:, 0] + 0.1 * rng.standard_normal(10_000).astype(np.float32)
    net = br.train_dropout(
        X, y, dropout=0.05, tau=100.0, hidden=(512, 512), epochs=1, batch_size=256, progress=False
    )
    mc = br.mc_dropout(net, X, passes=1000)
    assert mc.draws.shape == (1000, 10_000)
    assert np.isfinite(mc.draws).all()


def test_every_approximation_runs_on_the_gpu_and_matches_the_cpu():
    data = br.toy_gap(n=60, n_test=40)
    wd = br.weight_decay_from_tau(100.0, dropout=0.05, n=60, lengthscale=2.0)
    target = br.net_target(data.X_train, data.y_train, tau=100.0, weight_decay=wd, hidden=(16,))
    kwargs = dict(members=2, epochs=50, draws=200, vi_steps=500, swag_epochs=30, seed=3)
    on_gpu = br.approximate(target, data.X_test, **kwargs)
    with jax.default_device(jax.devices("cpu")[0]):
        on_cpu = br.approximate(target, data.X_test, **kwargs)
    for method, a in on_gpu.items():
        # float64 on both: the same keys and steps; reductions ordered differently on the
        # GPU leave differences at rounding level, which L-BFGS and 500 ELBO steps amplify.
        ref = on_cpu[method].draws
        np.testing.assert_allclose(
            a.draws, ref, rtol=0, atol=1e-4 * np.abs(ref).max(), err_msg=method
        )
