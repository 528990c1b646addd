"""The MLP forward pass and its dropout masks, against numpy and the definition of dropout.

References: a plain numpy forward pass (ReLU hidden layers, linear output), the Glorot-uniform
law of Keras's ``Dense`` (Kolmogorov-Smirnov against scipy's uniform), and the definition of
inverted dropout (keep each unit with probability 1 - p, scale the kept ones by 1 / (1 - p)),
whose statistics are checked with binomial and central-limit bounds.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from bayes_reg.nets.mlp import Layer, init_mlp, layer_sizes, mlp

jax.config.update("jax_enable_x64", True)

# Statistical checks use 5-standard-error bounds: for a fixed seed they are deterministic,
# and a correct implementation falls outside with probability < 6e-7 per check.
Z = 5.0
EPS = np.finfo(np.float64).eps


def _numpy_forward(params, x):
    h = np.asarray(x, float)
    for i, layer in enumerate(params):
        h = h @ np.asarray(layer.w, float) + np.asarray(layer.b, float)
        if i < len(params) - 1:
            h = np.maximum(h, 0.0)
    return h


def _random_params(rng, sizes):
    return tuple(
        Layer(jnp.asarray(rng.standard_normal((a, b))), jnp.asarray(rng.standard_normal(b)))
        for a, b in zip(sizes[:-1], sizes[1:], strict=True)
    )


def _identity_net(width, layers):
    """``layers`` dense layers with identity kernels and zero biases: the output shows the
    product of the masks (ReLU is the identity on the positive inputs used here)."""
    eye = jnp.eye(width)
    return tuple(Layer(eye, jnp.zeros(width)) for _ in range(layers))


@pytest.mark.parametrize("sizes", [(3, 7, 1), (4, 6, 5, 1), (2, 5, 3)])
def test_inference_equals_numpy_forward(rng, sizes):
    params = _random_params(rng, sizes)
    x = rng.standard_normal((11, sizes[0]))
    out = np.asarray(mlp(params, x))
    ref = _numpy_forward(params, x)
    ref = ref[:, 0] if sizes[-1] == 1 else ref
    assert out.shape == ref.shape
    # float64 on both sides, a few dozen flops per output: agreement to rounding.
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)


def test_dropout_zero_in_training_mode_is_the_inference_pass(rng):
    params = _random_params(rng, (3, 8, 1))
    x = rng.standard_normal((9, 3))
    out = mlp(params, x, dropout=0.0, key=jax.random.key(1), inference=False)
    # Keep probability 1: every mask is one and the scale 1 / (1 - 0) is exact.
    np.testing.assert_array_equal(np.asarray(out), np.asarray(mlp(params, x)))


def test_init_is_glorot_uniform_with_zero_bias():
    sizes = (300, 500, 1)
    params = init_mlp(jax.random.key(3), sizes)
    assert layer_sizes(params) == sizes
    for layer, fan_in, fan_out in zip(params, sizes[:-1], sizes[1:], strict=True):
        assert layer.w.shape == (fan_in, fan_out) and layer.w.dtype == jnp.float32
        np.testing.assert_array_equal(np.asarray(layer.b), np.zeros(fan_out))
        limit = np.sqrt(6.0 / (fan_in + fan_out))  # Keras GlorotUniform
        w = np.asarray(layer.w, float).ravel()
        assert np.abs(w).max() <= limit
        # Kolmogorov-Smirnov against U(-limit, limit); 1e-4 is a fixed-seed false-alarm level.
        assert stats.kstest(w, stats.uniform(-limit, 2 * limit).cdf).pvalue > 1e-4


def test_init_depends_on_key_only():
    a = init_mlp(jax.random.key(0), (3, 4, 1))
    b = init_mlp(jax.random.key(0), (3, 4, 1))
    c = init_mlp(jax.random.key(1), (3, 4, 1))
    np.testing.assert_array_equal(np.asarray(a[0].w), np.asarray(b[0].w))
    assert not np.array_equal(np.asarray(a[0].w), np.asarray(c[0].w))


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_input_mask_drops_fraction_p_and_scales_kept_by_inverse_keep(p):
    n, d = 400, 50
    x = np.linspace(0.5, 2.0, n * d).reshape(n, d)  # positive, so ReLU changes nothing
    out = np.asarray(mlp(_identity_net(d, 1), x, dropout=p, key=jax.random.key(7), inference=False))
    zero = out == 0.0
    # Kept units are x / (1 - p): an identity kernel adds only exact zeros, and XLA may divide
    # through the reciprocal, one more rounding, hence two float64 epsilons.
    np.testing.assert_allclose(out[~zero], x[~zero] / (1.0 - p), rtol=2 * EPS, atol=0)
    m = zero.size
    assert abs(zero.mean() - p) < Z * np.sqrt(p * (1 - p) / m)


def test_dropout_acts_before_every_dense_layer():
    # Two identity layers: a unit survives when both its input mask and its hidden mask keep
    # it, probability (1 - p)^2, and is then scaled by 1 / (1 - p)^2.
    p, n, d = 0.3, 400, 50
    x = np.full((n, d), 1.5)
    out = np.asarray(mlp(_identity_net(d, 2), x, dropout=p, key=jax.random.key(2), inference=False))
    kept = out != 0.0
    # Two scalings, each possibly through a rounded reciprocal: four epsilons.
    np.testing.assert_allclose(out[kept], 1.5 / (1 - p) ** 2, rtol=4 * EPS, atol=0)
    q = (1 - p) ** 2
    assert abs(kept.mean() - q) < Z * np.sqrt(q * (1 - q) / kept.size)


def test_masks_are_independent_across_rows_and_keys():
    x = np.ones((200, 20))
    net = _identity_net(20, 1)
    a = np.asarray(mlp(net, x, dropout=0.5, key=jax.random.key(0), inference=False)) == 0
    b = np.asarray(mlp(net, x, dropout=0.5, key=jax.random.key(1), inference=False)) == 0
    assert not np.array_equal(a, b)
    assert not all(np.array_equal(a[0], row) for row in a[1:])
    # Agreement of two independent masks with p = 1/2 is Binomial(m, 1/2).
    agree = (a == b).mean()
    assert abs(agree - 0.5) < Z * np.sqrt(0.25 / a.size)


def test_mean_over_masks_is_the_inference_output_of_a_linear_net(rng):
    # With positive weights, biases and inputs the ReLU never clips, so the net is linear in
    # each mask and, the masks being independent with mean 1 after scaling, E[f] is the
    # inference output. The bound is Z standard errors of the passes' own spread.
    sizes = (4, 6, 1)
    params = tuple(
        Layer(jnp.asarray(rng.uniform(0.1, 1.0, (a, b))), jnp.asarray(rng.uniform(0, 1, b)))
        for a, b in zip(sizes[:-1], sizes[1:], strict=True)
    )
    x = rng.uniform(0.5, 1.5, (5, 4))
    keys = jax.random.split(jax.random.key(11), 20_000)
    passes = np.asarray(
        jax.jit(jax.vmap(lambda k: mlp(params, x, dropout=0.2, key=k, inference=False)))(keys)
    )
    se = passes.std(0) / np.sqrt(len(keys))
    assert np.all(np.abs(passes.mean(0) - np.asarray(mlp(params, x))) < Z * se)


def test_single_layer_pass_variance_is_the_bernoulli_variance(rng):
    # f = sum_j m_j x_j w_j / (1 - p) + b with m_j ~ Bernoulli(1 - p):
    # Var f = p / (1 - p) * sum_j x_j^2 w_j^2. The sample variance of K passes has relative
    # standard error sqrt((kurtosis - 1) / K); 2 / sqrt(K) covers the kurtosis here (< 5).
    p, d = 0.3, 8
    w = rng.standard_normal((d, 1))
    params = (Layer(jnp.asarray(w), jnp.asarray([0.4])),)
    x = rng.standard_normal((3, d))
    keys = jax.random.split(jax.random.key(5), 40_000)
    one_pass = jax.jit(jax.vmap(lambda k: mlp(params, x, dropout=p, key=k, inference=False)))
    passes = np.asarray(one_pass(keys))
    var = p / (1 - p) * (x**2 @ w[:, 0] ** 2)
    assert np.all(np.abs(passes.var(0) / var - 1) < Z * 2 / np.sqrt(len(keys)))


def test_training_mode_without_key_raises():
    params = init_mlp(jax.random.key(0), (2, 3, 1))
    with pytest.raises(ValueError, match=r"inference=False\) needs a key"):
        mlp(params, np.ones((2, 2)), dropout=0.1, inference=False)


def test_traced_dropout_rate_vmaps():
    d, n = 30, 200
    x = np.ones((n, d))
    net = _identity_net(d, 1)
    rates = jnp.asarray([0.0, 0.25, 0.6])
    out = jax.jit(
        jax.vmap(lambda p: mlp(net, x, dropout=p, key=jax.random.key(4), inference=False))
    )(rates)
    out = np.asarray(out)
    np.testing.assert_array_equal(out[0], x)  # rate 0 keeps everything, unscaled
    for p, o in zip(np.asarray(rates)[1:], out[1:], strict=True):
        zero = o == 0
        np.testing.assert_allclose(o[~zero], 1 / (1 - p), rtol=2 * EPS, atol=0)
        assert abs(zero.mean() - p) < Z * np.sqrt(p * (1 - p) / zero.size)


def test_float32_params_keep_float32():
    params = init_mlp(jax.random.key(0), (2, 4, 1))
    x = np.ones((3, 2), np.float32)
    out = mlp(params, x, dropout=0.1, key=jax.random.key(0), inference=False)
    assert out.dtype == jnp.float32 and out.shape == (3,)
