"""Tree groups computed when first read: computed once, on first read and not before, by
every way of reading them; pickles and copies carry values, not the computation; a posterior's
deferred groups are the model's log density and predictive (scipy as the reference)."""

import copy
import pickle
import threading

import arviz_stats
import numpy as np
import pytest
import scipy.stats
import xarray as xr

from bayes_reg.inference.deferred import Deferred
from bayes_reg.inference.sampler import Sampler
from bayes_reg.linear import posterior_tree
from bayes_reg.linear.posterior import sample_posterior
from bayes_reg.priors import Gaussian, Laplace


class _Counted:
    """A computation that counts its calls and holds what no pickle can carry."""

    def __init__(self, *arrays):
        self.arrays, self.calls, self.lock = arrays, 0, threading.Lock()

    def __call__(self):
        self.calls += 1
        return self.arrays


def _tree(compute, shape=(2, 3, 4)):
    later = Deferred(compute, [(shape, np.float64), (shape, np.int64)])
    dims = ("chain", "draw", "obs")
    return xr.DataTree.from_dict(
        {
            "log_likelihood": xr.Dataset({"y": later.variable(0, dims)}),
            "posterior_predictive": xr.Dataset({"y": later.variable(1, dims)}),
        }
    )


@pytest.fixture
def arrays(rng):
    return rng.normal(size=(2, 3, 4)), rng.integers(0, 9, size=(2, 3, 4))


def test_nothing_is_computed_until_read_and_then_once_for_every_output(arrays):
    compute = _Counted(*arrays)
    tree = _tree(compute)
    ll = tree["log_likelihood"]["y"]
    assert (ll.shape, ll.dtype, compute.calls) == ((2, 3, 4), np.float64, 0)
    np.testing.assert_array_equal(ll.values, arrays[0])
    np.testing.assert_array_equal(tree["posterior_predictive"]["y"].values, arrays[1])
    assert tree["posterior_predictive"]["y"].dtype == np.int64
    assert compute.calls == 1


def test_every_way_of_reading_gives_the_values(arrays, tmp_path):
    compute = _Counted(*arrays)
    tree = _tree(compute)
    ll = tree["log_likelihood"]["y"]
    # Basic, outer and vectorised indexing, as NumPy would index the computed array.
    np.testing.assert_array_equal(ll.isel(draw=slice(1, None), obs=1).values, arrays[0][:, 1:, 1])
    np.testing.assert_array_equal(
        ll.isel(obs=[3, 0], draw=[2, 0]).values, arrays[0][:, [2, 0]][..., [3, 0]]
    )
    picks = xr.DataArray([1, 0], dims="k")
    np.testing.assert_array_equal(
        ll.isel(chain=picks, obs=picks).values, arrays[0][[1, 0], :, [1, 0]]
    )
    np.testing.assert_allclose(float(ll.mean()), arrays[0].mean(), rtol=1e-15)
    tree.to_netcdf(tmp_path / "tree.nc")
    read = xr.open_datatree(tmp_path / "tree.nc")
    np.testing.assert_array_equal(read["posterior_predictive"]["y"].values, arrays[1])
    assert compute.calls == 1


@pytest.mark.parametrize("carry", [pickle.dumps, copy.deepcopy], ids=["pickle", "deepcopy"])
def test_pickles_and_copies_carry_the_values_not_the_computation(arrays, carry):
    compute = _Counted(*arrays)  # holds a lock: pickling it would fail
    tree = _tree(compute)
    carried = carry(tree)
    if isinstance(carried, bytes):
        carried = pickle.loads(carried)
    assert compute.calls == 1
    for group, expected in zip(("log_likelihood", "posterior_predictive"), arrays, strict=True):
        np.testing.assert_array_equal(carried[group]["y"].values, expected)
    assert compute.calls == 1


def test_threads_reading_at_once_compute_once(arrays):
    start = threading.Barrier(4)
    compute = _Counted(*arrays)
    tree = _tree(compute)
    seen = []

    def read():
        start.wait()
        seen.append(tree["log_likelihood"]["y"].values.sum())

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert compute.calls == 1 and len(set(seen)) == 1


def test_an_output_of_another_shape_than_announced_is_refused(arrays):
    tree = _tree(_Counted(*arrays), shape=(2, 3, 5))
    with pytest.raises(ValueError, match=r"shape \(2, 3, 4\), not \(2, 3, 5\)"):
        tree["log_likelihood"]["y"].values  # noqa: B018


def test_a_fit_draws_no_predictive_until_it_is_read(rng, monkeypatch):
    X = rng.normal(size=(30, 3))
    y = X @ np.array([1.0, -0.5, 0.0]) + 0.3 * rng.normal(size=30)
    built = []
    program = posterior_tree._predictive_program
    monkeypatch.setattr(
        posterior_tree, "_predictive_program", lambda *a: built.append(a) or program(*a)
    )
    post = sample_posterior(X, y, prior=Gaussian(1.0), sigma=0.3, seed=0)
    post.tree["posterior"]["w"].values  # noqa: B018
    assert built == []
    post.tree["log_likelihood"]["y"].values  # noqa: B018
    assert len(built) == 1


@pytest.mark.parametrize("method", ["exact", "nuts"])
def test_the_deferred_groups_are_the_models_density_and_predictive(rng, method):
    n, sigma = 60, 0.4
    X = rng.normal(size=(n, 2))
    y = X @ np.array([0.8, -0.3]) + 1.0 + sigma * rng.normal(size=n)
    prior = Gaussian(1.0) if method == "exact" else Laplace(1.0)
    post = sample_posterior(
        X,
        y,
        prior=prior,
        sigma=sigma,
        method=method,
        seed=3,
        progress=False,
        # 2 x 2,000 draws: at 2 x 500, PSIS's Pareto-k estimates are noisy enough that one of
        # the 60 rows tops 0.67 for some draws (0.40-0.72 across CPUs' rounding), and loo warns.
        sampler=Sampler(chains=2, warmup=200, draws=2000),
    )
    draws = post.tree["posterior"]
    mean = np.einsum("cdj,nj->cdn", draws["w"].values, X) + draws["b"].values[..., None]
    np.testing.assert_allclose(
        post.tree["log_likelihood"]["y"].values, scipy.stats.norm.logpdf(y, mean, sigma), rtol=1e-12
    )
    # Each replicate is the draw's mean plus N(0, sigma) noise: 4,000 x 60 standardised
    # residuals, their mean within 4.5 standard errors of 0 and their sd within 3% of 1.
    z = ((post.tree["posterior_predictive"]["y"].values - mean) / sigma).ravel()
    assert abs(z.mean()) < 4.5 / np.sqrt(z.size) and abs(z.std() - 1) < 0.03
    loo = arviz_stats.loo(post.tree)
    assert np.isfinite(loo.elpd) and loo.n_data_points == n
