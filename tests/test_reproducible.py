"""Same seed, same machine: bit-for-bit the same numbers; another seed: other numbers."""

import jax
import numpy as np
import pytest

import bayes_reg as br


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(30, 3))
    return X, X @ np.array([1.0, -0.5, 0.25]) + 0.3 + 0.2 * rng.normal(size=30)


def _arrays(tree, group):
    ds = tree[group].to_dataset() if hasattr(tree[group], "to_dataset") else tree[group]
    return {name: np.asarray(ds[name].values) for name in ds.data_vars}


def _identical(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def nuts_runs(data):
    X, y = data

    def run(seed):
        return br.run_nuts(
            br.linear_regression,
            X,
            y,
            prior=br.Laplace(1.0),
            sigma=0.2,
            sampler=br.Sampler(chains=2, warmup=100, draws=100),
            seed=seed,
            progress=False,
        )

    return run(0), run(0), run(1)


def test_run_nuts_is_bit_for_bit_reproducible(nuts_runs):
    first, again, other = nuts_runs
    for group in ("posterior", "sample_stats", "log_likelihood", "posterior_predictive"):
        assert _identical(_arrays(first.tree, group), _arrays(again.tree, group)), group
    post = _arrays(first.tree, "posterior")
    assert post["w"].shape == (2, 100, 3) and post["b"].shape == (2, 100)
    assert not np.array_equal(post["w"], _arrays(other.tree, "posterior")["w"])
    assert not np.array_equal(
        _arrays(first.tree, "posterior_predictive")["y"],
        _arrays(other.tree, "posterior_predictive")["y"],
    )


def test_nuts_tree_records_the_sampler(nuts_runs):
    result = nuts_runs[0]
    assert not result.exact
    assert "NUTS" in result.tree.attrs["sampler"]
    assert "NUTS" in result.tree["posterior"].attrs["sampler"]


def test_exact_sample_posterior_is_bit_for_bit_reproducible(data):
    X, y = data

    def run(seed):
        return br.sample_posterior(
            X,
            y,
            prior=br.Gaussian(1.0),
            sigma=0.2,
            sampler=br.Sampler(chains=2, draws=200),
            seed=seed,
            progress=False,
        )

    first, again, other = run(3), run(3), run(4)
    assert first.exact
    assert "exact i.i.d. draws" in first.tree.attrs["sampler"]
    for group in ("posterior", "posterior_predictive", "log_likelihood"):
        assert _identical(_arrays(first.tree, group), _arrays(again.tree, group)), group
    assert not np.array_equal(
        _arrays(first.tree, "posterior")["w"], _arrays(other.tree, "posterior")["w"]
    )


def test_exact_posterior_sample_is_bit_for_bit_reproducible(data):
    X, y = data
    post = br.exact_posterior(X, y, prior_scale=1.0, sigma=0.2)
    first = post.sample(jax.random.key(5), (4, 250))
    again = post.sample(jax.random.key(5), (4, 250))
    other = post.sample(jax.random.key(6), (4, 250))
    for name in ("w", "b"):
        assert np.array_equal(first[name], again[name])
        assert not np.array_equal(first[name], other[name])
    # Recomputing the posterior itself changes nothing either.
    post_again = br.exact_posterior(X, y, prior_scale=1.0, sigma=0.2)
    assert np.array_equal(post.mean, post_again.mean)
    assert np.array_equal(post_again.sample(jax.random.key(5), (4, 250))["w"], first["w"])


@pytest.mark.parametrize("optimizer", ["sgd", "adam-l2", "l1-proximal"])
def test_sgd_path_is_bit_for_bit_reproducible(data, optimizer):
    X, y = data
    kwargs = dict(
        optimizer=optimizer,
        lr=0.01,
        epochs=20,
        batch_size=7,
        X_test=X[:10],
        y_test=y[:10],
        record_weights=True,
    )
    first = br.sgd_path(X, y, [0.0, 0.1, 1.0], seed=11, **kwargs)
    again = br.sgd_path(X, y, [0.0, 0.1, 1.0], seed=11, **kwargs)
    other = br.sgd_path(X, y, [0.0, 0.1, 1.0], seed=12, **kwargs)
    for name in first.data_vars:
        assert np.array_equal(first[name].values, again[name].values), name
    assert first.attrs == again.attrs
    assert not np.array_equal(first.w.values, other.w.values)
    assert not np.array_equal(first.train_loss.values, other.train_loss.values)


def test_d2l_synthetic_is_reproducible():
    first, again, other = br.d2l_synthetic(seed=2), br.d2l_synthetic(seed=2), br.d2l_synthetic()
    for a, b in zip(first, again, strict=True):
        assert np.array_equal(a, b)
    assert not np.array_equal(first.X_train, other.X_train)


@pytest.fixture
def terminal(monkeypatch):
    """Pretend standard output is a terminal, so progress bars really open; record what the
    bars are advanced by (the compiled programs report through rich's Progress.advance)."""
    from rich.progress import Progress

    from bayes_reg import _progress

    monkeypatch.setattr(_progress, "_on_terminal", lambda: True)
    updates = []
    advance = Progress.advance

    def counting(self, task, steps, *rest, **kw):
        updates.append(steps)
        return advance(self, task, steps, *rest, **kw)

    monkeypatch.setattr(Progress, "advance", counting)
    return updates


def test_a_progress_bar_does_not_change_the_nuts_draws(terminal):
    # The diabetes lasso: where a program compiled with and without the bar's callbacks
    # drew different chains (XLA fuses and rounds the two programs differently).
    d = br.diabetes()
    prior = br.to_prior("sklearn-lasso", 2.0, n=442, sigma=54.0)
    kw = dict(prior=prior, sigma=54.0, sampler=br.Sampler(chains=2, warmup=300, draws=300), seed=0)
    quiet = br.run_nuts(br.linear_regression, d.X, d.y, progress=False, **kw)
    assert terminal == []
    shown = br.run_nuts(br.linear_regression, d.X, d.y, progress=True, **kw)
    assert sum(terminal) > 0  # the bar was really driven
    for group in ("posterior", "sample_stats", "posterior_predictive"):
        assert _identical(_arrays(quiet.tree, group), _arrays(shown.tree, group)), group


def test_a_progress_bar_does_not_change_dropout_training(terminal):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = X @ np.array([1.0, -1.0]) + 0.1 * rng.normal(size=40)
    kw = dict(dropout=0.1, tau=10.0, hidden=(8,), epochs=30, batch_size=8, seed=1)
    quiet = br.train_dropout(X, y, progress=False, **kw)
    shown = br.train_dropout(X, y, progress=True, **kw)
    assert sum(terminal) > 0
    for a, b in zip(jax.tree.leaves(quiet.params), jax.tree.leaves(shown.params), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_no_progress_bar_is_drawn_when_output_is_not_a_terminal(data, capsys):
    X, y = data
    br.run_nuts(
        br.linear_regression,
        X,
        y,
        prior=br.Gaussian(1.0),
        sigma=0.2,
        sampler=br.Sampler(chains=1, warmup=50, draws=50),
        seed=0,
        progress=True,
    )
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_ctrl_c_stops_a_compiled_run_at_its_next_report_as_an_interruption():
    """Ctrl-C stops a compiled loop at its next progress report (not at its end), and reaches
    the caller as KeyboardInterrupt (an interruption), not as the JaxRuntimeError of the
    aborted program (a failure)."""
    import os
    import signal

    from bayes_reg._progress import progress_bar, report_every

    iterations, every = 10**9, 1000  # about two minutes of loop, were it not stopped
    reports = []

    def count(*_):
        reports.append(1)
        if len(reports) == 1:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, once the loop is under way

    @jax.jit
    def loop(x):
        def body(i, x):
            report_every(i, every)
            jax.lax.cond(i % every == 0, lambda: jax.debug.callback(count), lambda: None)
            return x + 1.0

        return jax.lax.fori_loop(0, iterations, body, x)

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
    try:
        with pytest.raises(KeyboardInterrupt):
            with progress_bar(False, iterations):
                jax.block_until_ready(loop(0.0))
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    finally:
        signal.signal(signal.SIGINT, previous)
    assert 1 <= len(reports) < iterations // every // 10  # stopped, long before its end


def test_a_seed_and_its_key_draw_the_same_posterior():
    # A seed becomes a key once, at the edge: passing that key gives the same draws.
    X, y = np.random.default_rng(0).normal(size=(20, 2)), np.arange(20.0)
    kw = dict(prior=br.Gaussian(1.0), sigma=br.HalfNormal(5.0), progress=False)
    kw["sampler"] = br.Sampler(chains=1, warmup=50, draws=50)
    by_seed = br.sample_posterior(X, y, seed=7, **kw)
    by_key = br.sample_posterior(X, y, seed=jax.random.key(7), **kw)
    for group in ("posterior", "sample_stats", "posterior_predictive"):
        assert _identical(_arrays(by_seed.tree, group), _arrays(by_key.tree, group)), group
    with pytest.raises(ValueError, match="seed must be >= 0, got -1"):
        br.sample_posterior(X, y, seed=-1, **kw)
