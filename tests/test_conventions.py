"""Each convention against the real framework it names: the converted prior's MAP must be
the framework's own penalised fit."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import ANY_FLOAT, SETTINGS, _assert_refusal_names, _bad_positive, import_or_skip
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import ElasticNet, Lasso, Ridge, SGDRegressor

import bayes_reg as br
from bayes_reg import conventions
from bayes_reg.conventions import (
    CONVENTIONS,
    convert,
    to_penalty,
    to_prior,
)
from bayes_reg.linear.map import map_estimate
from bayes_reg.rescaling import rescale_rows, rescale_target

SIGMA = 2.5  # any noise scale: the conversions are exact, so the MAP cannot depend on it


def _problem(rng, n, d, scale=3.0, intercept=1.5):
    X = rng.normal(size=(n, d))
    w = rng.normal(size=d) * scale
    return X, X @ w + intercept + rng.normal(size=n) * scale


def _map(X, y, convention, strength, **kw):
    prior = to_prior(convention, strength, n=X.shape[0], sigma=SIGMA, **kw)
    est = map_estimate(X, y, prior, SIGMA)
    return np.asarray(est.w), float(est.b)


def _assert_same_fit(ours, coef, intercept, rtol):
    w, b = ours
    scale = np.max(np.abs(coef))
    np.testing.assert_allclose(w, coef, rtol=0, atol=rtol * scale)
    assert b == pytest.approx(intercept, rel=rtol, abs=rtol * scale)


# --- scikit-learn, deterministic solvers: agreement to 1e-8 (float64, tol 1e-14 in sklearn)


@pytest.mark.parametrize("alpha", [1e-3, 0.3, 30.0])
def test_sklearn_ridge(diabetes, rng, alpha):
    for X, y in (diabetes, _problem(rng, 20, 50)):  # d > n included
        fit = Ridge(alpha=alpha).fit(X, y)
        _assert_same_fit(_map(X, y, "sklearn-ridge", alpha), fit.coef_, fit.intercept_, 1e-8)


@pytest.mark.parametrize("alpha", [0.01, 0.1, 1.0])
def test_sklearn_lasso(diabetes, rng, alpha):
    for X, y in (diabetes, _problem(rng, 40, 8)):
        fit = Lasso(alpha=alpha, tol=1e-14, max_iter=1_000_000).fit(X, y)
        ours = _map(X, y, "sklearn-lasso", alpha)
        _assert_same_fit(ours, fit.coef_, fit.intercept_, 1e-8)
        np.testing.assert_array_equal(ours[0] == 0, fit.coef_ == 0)  # the same zeros


@pytest.mark.parametrize("alpha, l1_ratio", [(0.01, 0.2), (0.1, 0.5), (1.0, 0.9)])
def test_sklearn_elasticnet(diabetes, rng, alpha, l1_ratio):
    for X, y in (diabetes, _problem(rng, 40, 8)):
        fit = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-14, max_iter=1_000_000).fit(X, y)
        ours = _map(X, y, "sklearn-elasticnet", alpha, l1_ratio=l1_ratio)
        _assert_same_fit(ours, fit.coef_, fit.intercept_, 1e-8)


# --- scikit-learn SGDRegressor: stochastic, so agreement is limited by its last step sizes.


@pytest.mark.parametrize(
    "penalty, family, l1_ratio",
    [("l2", "gaussian", None), ("l1", "laplace", None), ("elasticnet", "elastic-net", 0.5)],
)
def test_sklearn_sgd_run_to_convergence(rng, penalty, family, l1_ratio):
    X, y = _problem(np.random.default_rng(1), 200, 5, scale=1.0)
    alpha = 0.1
    fit = SGDRegressor(
        alpha=alpha,
        penalty=penalty,
        l1_ratio=l1_ratio or 0.15,
        max_iter=5000,
        tol=None,
        learning_rate="invscaling",
        eta0=0.01,
        power_t=0.5,
        random_state=0,
    ).fit(X, y)
    ours = _map(X, y, "sklearn-sgd", alpha, family=family, l1_ratio=l1_ratio)
    # After 5000 epochs the step is 0.01 / sqrt(1e6) = 1e-5: the iterate jitters at that
    # order around the optimum (observed 2e-6 relative), so 1e-4 relative is tight but safe.
    _assert_same_fit(ours, fit.coef_, fit.intercept_[0], 1e-4)


# --- optax, the d2l chapter's update, and Keras


def test_optax_coupled_weight_decay_converges_to_the_map(rng):
    X, y = _problem(rng, 60, 6)
    wd = 0.2
    params = {"w": jnp.zeros(6), "b": jnp.zeros(())}
    # The intercept is excluded from the decay, as in every convention here.
    opt = optax.chain(optax.add_decayed_weights(wd, mask={"w": True, "b": False}), optax.sgd(0.05))

    def loss(p):
        return jnp.mean(optax.l2_loss(X @ p["w"] + p["b"], y))

    @jax.jit
    def train(p):
        def step(carry, _):
            p, state = carry
            updates, state = opt.update(jax.grad(loss)(p), state, p)
            return (optax.apply_updates(p, updates), state), None

        return jax.lax.scan(step, (p, opt.init(p)), length=20_000)[0][0]

    p = train(params)
    _assert_same_fit(_map(X, y, "optax", wd), np.asarray(p["w"]), float(p["b"]), 1e-9)


def test_d2l_from_scratch_update_converges_to_the_map(rng):
    """The chapter's code, full batch: loss = squared_loss + lambd * l2_penalty, summed, then
    ``param -= lr * param.grad / batch_size`` (bias not penalised)."""
    X, y = _problem(rng, 20, 4)
    lambd, lr = 3.0, 0.03
    w, b = np.zeros(4), 0.0
    for _ in range(20_000):
        r = X @ w + b - y  # d/dw of sum[(yhat - y)^2 / 2 + lambd * ||w||^2 / 2]
        grad_w, grad_b = X.T @ r + len(y) * lambd * w, r.sum()
        w, b = w - lr * grad_w / len(y), b - lr * grad_b / len(y)
    _assert_same_fit(_map(X, y, "d2l", lambd), w, b, 1e-9)


@pytest.mark.parametrize("family", ["gaussian", "laplace"])
def test_keras_loss_is_stationary_at_the_map(rng, family, request):
    """Keras's own MSE and regulariser, differentiated at our MAP: the gradient vanishes."""
    keras = import_or_skip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip("the check differentiates with JAX")
    floatx = keras.config.floatx()
    keras.config.set_floatx("float64")  # float32 would bound the check at 1e-7
    request.addfinalizer(lambda: keras.config.set_floatx(floatx))
    X, y = _problem(rng, 80, 5)
    strength = 0.05 if family == "gaussian" else 0.02  # small enough to keep every w nonzero
    w, b = _map(X, y, "keras", strength, family=family)
    assert np.all(w != 0)  # the L1 term is smooth only away from zero
    reg = (
        keras.regularizers.L2(strength) if family == "gaussian" else keras.regularizers.L1(strength)
    )
    mse = keras.losses.MeanSquaredError()

    def total(kernel, bias):
        return mse(y[:, None], X @ kernel + bias) + reg(kernel)

    g_map = jax.grad(total, argnums=(0, 1))(jnp.asarray(w)[:, None], jnp.asarray([b]))
    g_zero = jax.grad(total, argnums=(0, 1))(jnp.zeros((5, 1)), jnp.zeros(1))
    scale = max(float(jnp.max(jnp.abs(g))) for g in g_zero)
    assert max(float(jnp.max(jnp.abs(g))) for g in g_map) < 1e-9 * scale


# --- conversions: round trips, scaling rules, refusals

_SUPPORTED = [(c.name, f) for c in CONVENTIONS.values() for f in c.families]


@settings(max_examples=200, deadline=None)
@given(
    case=st.sampled_from(_SUPPORTED),
    strength=st.floats(1e-6, 1e6),
    n=st.integers(1, 10**6),
    sigma=st.floats(1e-3, 1e3),
    l1_ratio=st.floats(0.01, 0.99),
    target=st.sampled_from(list(CONVENTIONS)),
)
def test_round_trips(case, strength, n, sigma, l1_ratio, target):
    name, family = case
    prior = to_prior(name, strength, n=n, sigma=sigma, family=family, l1_ratio=l1_ratio)
    back = to_penalty(name, prior, n=n, sigma=sigma)
    assert back.strength == pytest.approx(strength, rel=1e-12)
    if family == "elastic-net":
        assert back.l1_ratio == pytest.approx(l1_ratio, rel=1e-12)
    if family in CONVENTIONS[target].families:
        there = to_penalty(target, prior, n=n, sigma=sigma)
        again = convert(
            there.strength,
            source=target,
            target=name,
            n=n,
            sigma=sigma,
            family=family,
            l1_ratio=there.l1_ratio,
        )
        assert again.strength == pytest.approx(strength, rel=1e-10)


@pytest.mark.parametrize(
    "convention, family", [("sklearn-ridge", "gaussian"), ("sklearn-lasso", "laplace")]
)
def test_rescaled_targets(diabetes, convention, family):
    X, y = diabetes
    c, sigma, strength = 100.0, 50.0, 0.5 if family == "gaussian" else 0.05
    sk = Ridge if family == "gaussian" else Lasso
    kw = {} if family == "gaussian" else {"tol": 1e-14, "max_iter": 1_000_000}
    base = sk(alpha=strength, **kw).fit(X, y)
    # The same model in new units: the fit simply scales by c.
    follows = rescale_target(convention, strength, c, prior="follows")
    np.testing.assert_allclose(
        sk(alpha=follows, **kw).fit(X, c * y).coef_,
        c * base.coef_,
        rtol=1e-8,
        atol=1e-8 * c * np.abs(base.coef_).max(),
    )
    # The old prior kept in absolute units: the strength grows by c^2.
    fixed = rescale_target(convention, strength, c, prior="fixed")
    prior = to_prior(convention, strength, n=len(y), sigma=sigma)
    target_map = map_estimate(X, c * y, prior, c * sigma)
    np.testing.assert_allclose(
        sk(alpha=fixed, **kw).fit(X, c * y).coef_,
        target_map.w,
        rtol=0,
        atol=1e-8 * np.abs(target_map.w).max(),
    )
    assert fixed == pytest.approx(c**2 * strength, rel=1e-12)


def test_rescaled_rows_keep_the_prior(diabetes):
    X, y = diabetes
    n_old, alpha, sigma = 100, 0.1, 50.0
    prior = to_prior("sklearn-lasso", alpha, n=n_old, sigma=sigma)
    alpha_new = rescale_rows("sklearn-lasso", alpha, n_old, len(y))
    fit = Lasso(alpha=alpha_new, tol=1e-14, max_iter=1_000_000).fit(X, y)
    ours = map_estimate(X, y, prior, sigma)
    _assert_same_fit((np.asarray(ours.w), float(ours.b)), fit.coef_, fit.intercept_, 1e-8)
    assert rescale_rows("sklearn-ridge", 3.0, n_old, len(y)) == pytest.approx(3.0)


@pytest.mark.parametrize("name", ["adamw", "AdamW", "torch-adamw", "optax-adamw", "decoupled"])
def test_adamw_is_refused_with_the_reason(name):
    for call in (
        lambda: br.get_convention(name),
        lambda: br.to_prior(name, 0.01, n=10, sigma=1.0),
        lambda: br.convert(0.01, source="d2l", target=name, n=10, sigma=1.0),
        lambda: br.rescale_rows(name, 0.01, 10, 20),
    ):
        with pytest.raises(br.DecoupledWeightDecayError, match="no fixed-prior equivalent"):
            call()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"convention": "ridge"}, "unknown convention 'ridge'; choose one of: neg-log-posterior"),
        ({"strength": 0.0}, "strength must be > 0, got 0.0"),
        ({"strength": float("nan")}, "strength must be finite, got nan"),
        ({"n": 0}, "n must be > 0, got 0"),
        ({"n": -2.5}, "n must be > 0, got -2.5"),  # a sum of sample weights may be 2.5
        ({"sigma": -1.0}, "sigma must be > 0, got -1.0"),
        ({"family": "cauchy"}, "unknown family 'cauchy'"),
        ({"convention": "torch-sgd", "family": "laplace"}, "'torch-sgd' has no laplace penalty"),
        ({"convention": "sklearn-elasticnet"}, "needs l1_ratio"),
        (
            {"convention": "sklearn-sgd", "family": "elastic-net", "l1_ratio": 1.0},
            r"l1_ratio must lie in \(0, 1\), got 1.0",
        ),
    ],
)
def test_bad_input_names_the_field(kwargs, message):
    args = {"convention": "sklearn-ridge", "strength": 1.0, "n": 10, "sigma": 1.0} | kwargs
    convention, strength = args.pop("convention"), args.pop("strength")
    with pytest.raises((ValueError, TypeError), match=message):
        to_prior(convention, strength, **args)


def test_every_convention_documents_its_objective_and_bias():
    for c in CONVENTIONS.values():
        assert c.objective and c.bias and c.framework
    assert "AdamW" in conventions.ADAMW_NOTE or "decoupled" in conventions.ADAMW_NOTE


# --- property-based: bad and borderline inputs ---------------------------------------------

NAMES = st.one_of(st.sampled_from(list(br.CONVENTIONS)), st.text(max_size=12))
COUNT = st.one_of(st.integers(-5, 10**7), st.floats(allow_nan=True, allow_infinity=True))


def _bad_count(x) -> bool:
    return not (math.isfinite(x) and float(x).is_integer() and x >= 1)


@SETTINGS
@given(
    convention=NAMES,
    strength=ANY_FLOAT,
    n=COUNT,
    sigma=ANY_FLOAT,
    l1_ratio=st.one_of(st.floats(0.01, 0.99), ANY_FLOAT),
)
def test_conversions_round_trip_or_name_the_bad_argument(convention, strength, n, sigma, l1_ratio):
    mixes = convention == "sklearn-elasticnet"  # its bare strength needs an l1_ratio
    extra = {"l1_ratio": l1_ratio} if mixes else {}
    checks = [  # in the order to_prior checks them
        ("convention", convention not in br.CONVENTIONS),
        ("l1_ratio", mixes and not (0 < l1_ratio < 1)),
        ("strength", _bad_positive(strength)),
        ("n", _bad_positive(n)),  # the rows, or the sum of their sample weights
        ("sigma", _bad_positive(sigma)),
    ]
    first_bad = next((name for name, bad in checks if bad), None)
    try:
        prior = br.to_prior(convention, strength, n=n, sigma=sigma, **extra)
    except Exception as err:  # noqa: BLE001 - the point is which type
        _assert_refusal_names(err, first_bad or "outside the floating-point range")
        return
    assert first_bad is None
    scales = [getattr(prior, f, None) for f in ("scale", "gaussian_scale", "laplace_scale")]
    assert all(math.isfinite(s) and s > 0 for s in scales if s is not None)
    try:
        back = br.to_penalty(convention, prior, n=n, sigma=sigma)
    except ValueError as err:
        assert "outside the floating-point range" in str(err)
        return
    assert back.strength == pytest.approx(strength, rel=1e-9)
    if mixes:
        assert back.l1_ratio == pytest.approx(l1_ratio, rel=1e-9)


@SETTINGS
@given(
    convention=st.sampled_from(list(br.CONVENTIONS)),
    strength=st.floats(1e-6, 1e6),
    factor=ANY_FLOAT,
    prior=st.sampled_from(["follows", "fixed"]),
    n_old=COUNT,
    n_new=COUNT,
)
def test_rescaling_is_finite_or_names_the_bad_argument(
    convention, strength, factor, prior, n_old, n_new
):
    extra = {"l1_ratio": 0.5} if convention == "sklearn-elasticnet" else {}
    try:
        out = br.rescale_target(convention, strength, factor, prior=prior, **extra)
    except (ValueError, TypeError) as err:
        assert _bad_positive(factor) or "factor=" in str(err)
        _assert_refusal_names(err, "factor")
    else:
        assert not _bad_positive(factor) and math.isfinite(out) and out > 0
        # How the strength moves with y -> c y (squared error: the objective times c²).
        family = br.get_convention(convention).default_family
        power = {
            ("gaussian", "follows"): 0,
            ("laplace", "follows"): 1,  # ‖c w‖₁ against c² Σr²: an L1 strength grows by c
            ("gaussian", "fixed"): 2,
            ("laplace", "fixed"): 2,
        }.get((family, prior))
        if power is not None:
            if convention == "neg-log-posterior":  # precision 1/g², rate 1/l: the prior alone
                power = {("gaussian", "follows"): -2, ("laplace", "follows"): -1}.get(
                    (family, prior), 0
                )
            assert out == pytest.approx(strength * factor**power, rel=1e-9)
    try:
        out = br.rescale_rows(convention, strength, n_old, n_new, **extra)
    except (ValueError, TypeError) as err:
        _assert_refusal_names(err, "n_old" if _bad_count(n_old) else "n_new")
    else:
        assert not (_bad_count(n_old) or _bad_count(n_new)) and math.isfinite(out) and out > 0
