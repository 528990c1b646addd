"""The 2018 MC-dropout UCI protocol: its bookkeeping, its scores, and (behind ``-m slow``)
the published yacht numbers.

References: the split files read here with numpy (which rows train, validate and test);
scipy's normal log density for the test log likelihood of passes without dropout; numpy for
the summary over splits; the published results of Mukhoti, Stenetorp & Gal (2018) for the
full run (``pytest -m slow tests/test_uci_dropout.py``).
"""

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr
from scipy.stats import norm

from bayes_reg.nets import uci_dropout
from bayes_reg.nets.mlp import Layer
from bayes_reg.nets.uci_dropout import (
    PUBLISHED,
    VALIDATION_SHARE,
    mc_dropout_protocol,
    summarize,
)
from bayes_reg.uci import UCI_DIR

jax.config.update("jax_enable_x64", True)

YACHT = UCI_DIR / "yacht"


def _floats(path):
    return np.atleast_1d(np.loadtxt(path))


# --------------------------------------------------------------------------------------
# a tiny run on yacht


@pytest.fixture(scope="module")
def tiny():
    return mc_dropout_protocol(YACHT, splits=[0, 1], epochs=5, passes=20, progress=False)


def test_tiny_protocol_layout(tiny):
    rates, taus = _floats(YACHT / "dropout_rates.txt"), _floats(YACHT / "tau_values.txt")
    assert tiny.sizes == {"split": 2, "dropout_rate": rates.size, "tau_value": taus.size}
    np.testing.assert_array_equal(tiny["split"].values, [0, 1])
    np.testing.assert_array_equal(tiny["dropout_rate"].values, rates)
    np.testing.assert_array_equal(tiny["tau_value"].values, taus)
    for name in ("rmse", "log_likelihood", "dropout", "tau"):
        assert tiny[name].dims == ("split",)
    assert tiny["validation_log_likelihood"].dims == ("split", "dropout_rate", "tau_value")
    for name in tiny.data_vars:
        assert np.isfinite(tiny[name].values).all(), name
    assert np.all(tiny["rmse"].values > 0)
    attrs = tiny.attrs
    assert attrs["data"] == "yacht" and attrs["epochs"] == 5 and attrs["passes"] == 20
    assert attrs["hidden"] == int(_floats(YACHT / "n_hidden.txt")[0])
    assert attrs["batch_size"] == 128 and attrs["lengthscale"] == 1e-2


def test_tiny_protocol_picks_the_best_validation_pair(tiny):
    for k in range(tiny.sizes["split"]):
        v = tiny["validation_log_likelihood"].isel(split=k)
        i, j = np.unravel_index(np.argmax(v.values), v.shape)
        assert tiny["dropout"].values[k] == v["dropout_rate"].values[i]
        assert tiny["tau"].values[k] == v["tau_value"].values[j]


def test_summarize_is_mean_and_standard_error(tiny):
    out = summarize(tiny)
    for name in ("rmse", "log_likelihood"):
        v = tiny[name].values
        mean, se = out[name]
        assert mean == pytest.approx(v.mean(), rel=1e-14)
        assert se == pytest.approx(np.std(v, ddof=1) / np.sqrt(v.size), rel=1e-14)


def test_summarize_of_one_split_has_no_standard_error():
    one = xr.Dataset({"rmse": ("split", [1.5]), "log_likelihood": ("split", [-2.0])})
    out = summarize(one)
    assert out["rmse"][0] == 1.5 and np.isnan(out["rmse"][1])


# --------------------------------------------------------------------------------------
# the protocol's bookkeeping, with the training replaced by a recorder


def _write_uci(d: Path, rng) -> dict:
    """A small UCI-format directory: 2 features, target in column 2, two splits."""
    d.mkdir()
    data = rng.standard_normal((23, 3))
    np.savetxt(d / "data.txt", data)
    (d / "index_features.txt").write_text("0\n1\n")
    (d / "index_target.txt").write_text("2\n")
    (d / "n_splits.txt").write_text("2\n")
    (d / "dropout_rates.txt").write_text("0.01\n0.1\n")
    (d / "tau_values.txt").write_text("0.5\n1.0\n2.0\n")
    (d / "n_hidden.txt").write_text("7\n")
    (d / "n_epochs.txt").write_text("3\n")
    splits = {}
    for k in range(2):
        perm = rng.permutation(23)
        train, test = perm[:16], perm[16:]
        np.savetxt(d / f"index_train_{k}.txt", train, fmt="%d")
        np.savetxt(d / f"index_test_{k}.txt", test, fmt="%d")
        splits[k] = (data[train][:, :2], data[train][:, 2], data[test][:, :2], data[test][:, 2])
    return splits


def test_protocol_bookkeeping(tmp_path, rng, monkeypatch):
    d = tmp_path / "toy"
    splits = _write_uci(d, rng)
    calls = []
    # Designed validation scores: split 0 prefers (0.1, 2.0), split 1 prefers (0.01, 0.5).
    best = {0: (0.1, 2.0), 1: (0.01, 0.5)}

    def recorder(train, test, rates, taus, seeds, **kwargs):
        calls.append(dict(train=train, test=test, rates=rates, taus=taus, seeds=seeds, **kwargs))
        if len(calls) == 1:
            k = np.repeat([0, 1], 6)  # the grid is split-major: 2 rates x 3 taus per split
            bp = np.array([best[i][0] for i in k])
            bt = np.array([best[i][1] for i in k])
            ll = -((np.array(rates) - bp) ** 2) - (np.array(taus) - bt) ** 2
            return np.zeros(len(seeds)), ll
        return np.array([1.0, 2.0]), np.array([-1.0, -2.0])

    monkeypatch.setattr(uci_dropout, "_fit_and_score", recorder)
    res = mc_dropout_protocol(d, passes=7, progress=False)
    grid, final = calls

    # 1. The grid: every (rate, tau) of each split, on the first 80% of its training rows,
    #    scored on the last 20%.
    cut = int((1 - VALIDATION_SHARE) * 16)
    assert cut == 12
    assert len(grid["train"]) == len(grid["test"]) == 12  # 2 splits x 2 rates x 3 taus
    expected_rates = [p for _ in range(2) for p in (0.01, 0.1) for _ in range(3)]
    expected_taus = [t for _ in range(2) for _ in range(2) for t in (0.5, 1.0, 2.0)]
    assert list(grid["rates"]) == expected_rates and list(grid["taus"]) == expected_taus
    for i, ((Xt, yt), (Xv, yv)) in enumerate(zip(grid["train"], grid["test"], strict=True)):
        X, y, _, _ = splits[i // 6]
        np.testing.assert_array_equal(Xt, X[:cut])
        np.testing.assert_array_equal(yt, y[:cut])
        np.testing.assert_array_equal(Xv, X[cut:])
        np.testing.assert_array_equal(yv, y[cut:])
    # The protocol's settings from the directory's files.
    assert grid["hidden"] == (7,) and grid["epochs"] == 300 and grid["passes"] == 7
    assert grid["batch_size"] == 128 and grid["lengthscale"] == 1e-2

    # 2. The best pair of each split, retrained on all its training rows, scored on its test.
    assert list(final["rates"]) == [0.1, 0.01] and list(final["taus"]) == [2.0, 0.5]
    for k, ((Xt, yt), (Xs, ys)) in enumerate(zip(final["train"], final["test"], strict=True)):
        X, y, X_test, y_test = splits[k]
        np.testing.assert_array_equal(Xt, X)
        np.testing.assert_array_equal(yt, y)
        np.testing.assert_array_equal(Xs, X_test)
        np.testing.assert_array_equal(ys, y_test)
    # Every network gets its own seed.
    seeds = np.concatenate([grid["seeds"], final["seeds"]])
    assert np.unique(seeds).size == seeds.size == 14

    # 3. The result carries the recorder's scores and choices.
    np.testing.assert_array_equal(res["rmse"].values, [1.0, 2.0])
    np.testing.assert_array_equal(res["log_likelihood"].values, [-1.0, -2.0])
    np.testing.assert_array_equal(res["dropout"].values, [0.1, 0.01])
    np.testing.assert_array_equal(res["tau"].values, [2.0, 0.5])
    assert res["validation_log_likelihood"].shape == (2, 2, 3)
    assert res.attrs["epochs"] == 300 and res.attrs["hidden"] == 7


# --------------------------------------------------------------------------------------
# the test scores


def test_scores_without_dropout_are_gaussian_log_densities(rng):
    # With dropout 0 every pass is the full network, so the test log likelihood is
    # mean_i log N(y_i; f_i * y_sd + y_mean, 1 / tau) and the RMSE that of f * y_sd + y_mean.
    runs, rows, d, h = 2, 9, 3, 4
    W0 = rng.standard_normal((runs, d, h)).astype(np.float32)
    b0 = rng.standard_normal((runs, h)).astype(np.float32)
    W1 = rng.standard_normal((runs, h, 1)).astype(np.float32)
    b1 = rng.standard_normal((runs, 1)).astype(np.float32)
    params = (Layer(jnp.asarray(W0), jnp.asarray(b0)), Layer(jnp.asarray(W1), jnp.asarray(b1)))
    X = rng.standard_normal((runs, rows, d)).astype(np.float32)
    y = (10 + 3 * rng.standard_normal((runs, rows))).astype(np.float32)
    y_mean, y_sd, tau = np.array([10.0, 9.0]), np.array([3.0, 2.5]), np.array([0.5, 2.0])
    as32 = lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731
    rmse, ll = uci_dropout._scores(
        params, jnp.asarray(X), jnp.asarray(y), as32(y_mean), as32(y_sd), as32([0.0, 0.0]),
        as32(tau), jnp.asarray([1, 2], jnp.uint32), passes=5, chunk=5, runs_at_once=2,
    )  # fmt: skip
    for r in range(runs):
        h1 = np.maximum(X[r].astype(float) @ W0[r] + b0[r], 0)
        f = (h1 @ W1[r] + b1[r])[:, 0] * y_sd[r] + y_mean[r]
        ref_ll = norm.logpdf(y[r], loc=f, scale=1 / np.sqrt(tau[r])).mean()
        ref_rmse = np.sqrt(np.mean((y[r] - f) ** 2))
        # float32 network and scores against float64 references; the log density's
        # quadratic term is O(10) here: 1e-5 relative.
        assert float(ll[r]) == pytest.approx(ref_ll, rel=1e-5)
        assert float(rmse[r]) == pytest.approx(ref_rmse, rel=1e-5)


# --------------------------------------------------------------------------------------
# bad input


def test_missing_grid_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"dropout_rates\.txt is missing"):
        mc_dropout_protocol(tmp_path, progress=False)


def test_missing_data_file_is_named(tmp_path):
    for name, text in (
        ("dropout_rates.txt", "0.1\n"),
        ("tau_values.txt", "1\n"),
        ("n_hidden.txt", "4\n"),
        ("n_epochs.txt", "1\n"),
    ):
        (tmp_path / name).write_text(text)
    with pytest.raises(FileNotFoundError, match=r"data\.txt is missing"):
        mc_dropout_protocol(tmp_path, splits=[0], progress=False)


@pytest.mark.parametrize(
    ("kwargs", "match"), [({"epochs": 0}, "epochs must be >= 1"), ({"passes": 0}, "passes")]
)
def test_bad_budgets_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mc_dropout_protocol(YACHT, splits=[0], progress=False, **kwargs)


# --------------------------------------------------------------------------------------
# the full protocol


@pytest.mark.slow
def test_full_yacht_protocol_matches_the_2018_results():
    # All 20 splits, 4000 epochs, 10,000 passes: many minutes. The mean over splits must be
    # within two standard errors of the published mean (the standard error of the
    # difference, ours and theirs combined) or better.
    res = mc_dropout_protocol(YACHT, progress=False)
    assert res.sizes["split"] == 20 and res.attrs["epochs"] == 4000
    ours = summarize(res)
    published = PUBLISHED["yacht"]["Mukhoti et al. 2018"]
    (rmse, rmse_se), (pub_rmse, pub_rmse_se) = ours["rmse"], published["rmse"]
    (ll, ll_se), (pub_ll, pub_ll_se) = ours["log_likelihood"], published["log_likelihood"]
    assert rmse <= pub_rmse + 2 * np.hypot(rmse_se, pub_rmse_se), ours
    assert ll >= pub_ll - 2 * np.hypot(ll_se, pub_ll_se), ours
