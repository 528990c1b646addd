"""The MC-dropout UCI protocol of Mukhoti, Stenetorp & Gal (2018), as compiled calls.

For each split of a UCI-format directory (:mod:`bayes_reg.uci`): the last 20% of the
training rows are a validation set; every dropout rate of ``dropout_rates.txt`` and every
precision of ``tau_values.txt`` is trained on the first 80% and scored by validation log
likelihood; the best pair is retrained on the whole training split and scored on the test
rows. The network is Gal & Ghahramani's (one hidden layer of ``n_hidden.txt`` ReLU units,
dropout on the input and hidden layer, Adam, batch 128, weight decay
``l^2 (1 - p) / (2 N tau)`` with ``l = 1e-2`` in Keras's convention, inputs and target
standardised on the rows it is trained on), run for ``n_epochs.txt`` x 100 = 4000 epochs,
with T = 10,000 MC passes; the test log likelihood is the log-mean-exp over passes with
Gaussian noise of precision tau, in the original target units.

In this process (the default) the grid of every split is one compiled call (all networks
``vmap``-ed), its validation scores a second, the retraining a third and the test scores a
fourth. With an ``engine`` each split is instead one task of :func:`~bayes_reg.fanout.fan_out`
(local processes or a Ray cluster), running those four calls on its own networks; every
network keeps the seed it has in this process, so the splits' results agree whichever way
they ran, to float32 rounding (see :func:`mc_dropout_protocol`'s ``engine``).
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from bayes_reg import _validate
from bayes_reg._sharding import shard_runs
from bayes_reg.conventions import LENGTHSCALE, weight_decay_from_tau
from bayes_reg.data import Scaling
from bayes_reg.fanout import Task, fan_out, resolve_engine, values_or_raise
from bayes_reg.nets.dropout import mc_budget, mc_chunk, mc_draws, train_runs
from bayes_reg.predictive import mixture_log_density
from bayes_reg.uci import load_uci

__all__ = ["PUBLISHED", "VALIDATION_SHARE", "mc_dropout_protocol", "summarize"]

#: Share of the training rows (the last ones) held out to choose the dropout rate and tau.
VALIDATION_SHARE = 0.2

#: Published MC-dropout results, mean and standard error over 20 splits: Gal & Ghahramani
#: (2016, Table 1) and the 2018 re-run with the grid above (Mukhoti, Stenetorp & Gal).
PUBLISHED = {
    "yacht": {
        "Gal & Ghahramani 2016": {"rmse": (1.11, 0.09), "log_likelihood": (-1.55, 0.03)},
        "Mukhoti et al. 2018": {"rmse": (0.67, 0.05), "log_likelihood": (-1.25, 0.01)},
    },
    "concrete": {
        "Gal & Ghahramani 2016": {"rmse": (5.23, 0.12), "log_likelihood": (-3.04, 0.02)},
        "Mukhoti et al. 2018": {"rmse": (4.82, 0.16), "log_likelihood": (-2.93, 0.02)},
    },
}


def _floats(path: Path) -> np.ndarray:
    return np.atleast_1d(np.loadtxt(path, dtype=float))


@partial(jax.jit, static_argnames=("passes", "chunk", "runs_at_once"))
def _scores(params, X, y, y_mean, y_sd, dropout, tau, seeds, *, passes, chunk, runs_at_once):
    """Test RMSE of the MC mean and mean test log likelihood of every run, original units.

    Runs go ``runs_at_once`` at a time so that only their draws are held in memory.
    """

    def one(run):
        params, X, y, y_mean, y_sd, p, tau, seed = run
        keys = jax.random.split(jax.random.key(seed), passes)
        draws = mc_draws(params, X, p, keys, chunk=chunk) * y_sd + y_mean
        rmse = jnp.sqrt(jnp.mean((y - draws.mean(0)) ** 2))
        return rmse, mixture_log_density(draws, y, 1.0 / jnp.sqrt(tau)).mean()

    runs = (params, X, y, y_mean, y_sd, dropout, tau, seeds)
    return jax.lax.map(one, runs, batch_size=runs_at_once)


def _fit_and_score(
    train,
    test,
    rates,
    taus,
    seeds,
    *,
    hidden,
    epochs,
    passes,
    batch_size,
    lengthscale,
    progress,
    label,
):
    """Train one network per run on ``train`` rows and score it on ``test`` rows."""
    scalings = [Scaling.fit(X, y) for X, y in train]
    X = np.stack([s.x(X) for s, (X, _) in zip(scalings, train, strict=True)]).astype(np.float32)
    y = np.stack([s.y(y) for s, (_, y) in zip(scalings, train, strict=True)])
    y = y.astype(np.float32)
    n = X.shape[1]
    decay = [
        weight_decay_from_tau(t, dropout=p, n=n, lengthscale=lengthscale)
        for p, t in zip(rates, taus, strict=True)
    ]
    params, _ = train_runs(
        X,
        y,
        rates,
        decay,
        seeds,
        hidden=hidden,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=1e-3,
        optimizer="adam",
        progress=progress,
        label=label,
    )
    X_test = np.stack([s.x(X) for s, (X, _) in zip(scalings, test, strict=True)]).astype(np.float32)
    y_test = np.stack([y for _, y in test]).astype(np.float32)
    width = max(X.shape[-1], *hidden)
    runs_at_once = max(1, mc_budget() // (passes * X_test.shape[1] * width))
    runs_at_once = min(runs_at_once, len(seeds))
    args = shard_runs(
        params,
        jnp.asarray(X_test),
        jnp.asarray(y_test),
        jnp.asarray([s.y_mean for s in scalings], jnp.float32),
        jnp.asarray([s.y_sd for s in scalings], jnp.float32),
        jnp.asarray(rates, jnp.float32),
        jnp.asarray(taus, jnp.float32),
        jnp.asarray(seeds, jnp.uint32),
    )
    rmse, ll = _scores(
        *args,
        passes=passes,
        chunk=mc_chunk(1, passes, X_test.shape[1], width),
        runs_at_once=runs_at_once,
    )
    return np.asarray(rmse, float), np.asarray(ll, float)


def mc_dropout_protocol(
    directory: str | Path,
    *,
    splits: list[int] | None = None,
    epochs: int | None = None,
    passes: int = 10_000,
    batch_size: int = 128,
    lengthscale: float = LENGTHSCALE,
    seed: int = 0,
    engine: str | None = None,
    address: str | None = None,
    workers: int | None = None,
    cpus_per_task: int = 1,
    progress: bool = True,
) -> xr.Dataset:
    """Run the 2018 MC-dropout protocol on a UCI-format directory.

    Parameters
    ----------
    directory : str or Path
        A UCI-format directory with ``dropout_rates.txt``, ``tau_values.txt``,
        ``n_hidden.txt`` and ``n_epochs.txt`` beside the data and splits.
    splits : list of int, optional
        Which splits to run; default all of them.
    epochs : int, optional
        Training epochs; default ``n_epochs.txt`` x 100 (the protocol's 4000).
    passes : int
        MC-dropout passes, for validation and test alike (the protocol's 10,000).
    batch_size, lengthscale : int, float
        The protocol's 128 and 1e-2.
    seed : int
        Seeds every network's initial weights, minibatch order and dropout masks. Each
        network's seed is the same whichever engine runs it.
    engine : {None, "auto", "ray", "processes"}
        ``None``: every split in this process, all vmapped together. Otherwise one task per
        split (grid, validation, retraining, test scores) through
        :func:`~bayes_reg.fanout.fan_out`, with ``address`` (``HOST:PORT`` of a Ray cluster),
        ``workers``, ``cpus_per_task`` and ``progress`` passed on; the splits' data travel
        with their tasks, so cluster nodes need no copy of ``directory``. The results agree
        with this process's to float32 rounding (a few units in the last place: the runs are
        batched differently) where a worker sees as many JAX devices (``cpus_per_task``) as
        this process. With fewer, training rounds differently
        and the scores drift further (1e-4 relative after 400 epochs on yacht); a near tie in
        validation could then pick another pair.
    progress : bool
        Progress bars over the training epochs (in this process) or over the split tasks.

    Returns
    -------
    xarray.Dataset
        Over dim ``split``: ``rmse`` and ``log_likelihood`` on the test rows, the chosen
        ``dropout`` and ``tau``; ``validation_log_likelihood`` over
        (``split``, ``dropout_rate``, ``tau_value``); attrs with the settings, the engine
        (``"in-process"`` for ``None``) and the wall time.

    Raises
    ------
    RuntimeError
        When splits failed in the fan-out, once every split has finished, naming each.

    Examples
    --------
    >>> from bayes_reg.uci import UCI_DIR
    >>> res = mc_dropout_protocol(UCI_DIR / "yacht", splits=[0], epochs=2, passes=10,
    ...                           progress=False)
    >>> sorted(res.data_vars)[:2], res.sizes["split"]
    (['dropout', 'log_likelihood'], 1)
    """
    d = Path(directory)
    for name in ("dropout_rates.txt", "tau_values.txt", "n_hidden.txt", "n_epochs.txt"):
        if not (d / name).is_file():
            raise FileNotFoundError(f"{d / name} is missing: the MC-dropout protocol needs it")
    rate_grid, tau_grid = _floats(d / "dropout_rates.txt"), _floats(d / "tau_values.txt")
    hidden = (int(_floats(d / "n_hidden.txt")[0]),)
    epochs = int(_floats(d / "n_epochs.txt")[0]) * 100 if epochs is None else epochs
    epochs = _validate.positive_int("epochs", epochs)
    passes = _validate.positive_int("passes", passes)
    engine = resolve_engine(engine, address)  # resolved here to record where it ran
    if splits is None:
        splits = list(range(int(_floats(d / "n_splits.txt")[0])))
    data = [load_uci(d, k) for k in splits]
    start = time.perf_counter()

    # One seed per network, drawn for all splits at once: split k's grid (rates x taus,
    # split-major), then one retraining per split. A split's task takes its rows.
    n_grid = rate_grid.size * tau_grid.size
    seeds = np.random.SeedSequence(seed).generate_state(len(splits) * (n_grid + 1))
    grid_seeds = seeds[: len(splits) * n_grid].reshape(len(splits), n_grid)
    final_seeds = seeds[len(splits) * n_grid :]
    settings = dict(
        rate_grid=rate_grid,
        tau_grid=tau_grid,
        hidden=hidden,
        epochs=epochs,
        passes=passes,
        batch_size=batch_size,
        lengthscale=lengthscale,
    )
    if engine is None:
        out = _run_splits(
            data, grid_seeds, final_seeds, progress=progress, label=d.name, **settings
        )
    else:
        out = _fan_out_splits(
            data,
            splits,
            grid_seeds,
            final_seeds,
            settings,
            label=d.name,
            engine=engine,
            address=address,
            workers=workers,
            cpus_per_task=cpus_per_task,
            progress=progress,
        )
    return xr.Dataset(
        {
            "rmse": ("split", out["rmse"]),
            "log_likelihood": ("split", out["log_likelihood"]),
            "dropout": ("split", out["dropout"]),
            "tau": ("split", out["tau"]),
            "validation_log_likelihood": (
                ("split", "dropout_rate", "tau_value"),
                out["validation_log_likelihood"],
            ),
        },
        coords={"split": splits, "dropout_rate": rate_grid, "tau_value": tau_grid},
        attrs={
            "data": d.name,
            "epochs": epochs,
            "passes": passes,
            "batch_size": batch_size,
            "hidden": hidden[0],
            "lengthscale": lengthscale,
            "seed": seed,
            "engine": engine or "in-process",
            "seconds": time.perf_counter() - start,
        },
    )


def _run_splits(
    data,
    grid_seeds,
    final_seeds,
    *,
    rate_grid,
    tau_grid,
    hidden,
    epochs,
    passes,
    batch_size,
    lengthscale,
    progress,
    label,
) -> dict[str, np.ndarray]:
    """The protocol on the splits ``data`` (:class:`~bayes_reg.uci.UCISplit`\\ s), each
    network seeded from ``grid_seeds`` (split, rate x tau) or ``final_seeds`` (split,).

    All the splits at once in this process, or one split as a task of the fan-out (a
    top-level function, so that a worker can import it). Arrays over the splits come back.
    """
    # 1. The grid on the first 80% of each training split, scored on the last 20%.
    grid = [(k, p, t) for k in range(len(data)) for p in rate_grid for t in tau_grid]
    cut = [int((1 - VALIDATION_SHARE) * s.X_train.shape[0]) for s in data]
    train = [(data[k].X_train[: cut[k]], data[k].y_train[: cut[k]]) for k, _, _ in grid]
    valid = [(data[k].X_train[cut[k] :], data[k].y_train[cut[k] :]) for k, _, _ in grid]
    settings = dict(
        hidden=hidden,
        epochs=epochs,
        passes=passes,
        batch_size=batch_size,
        lengthscale=lengthscale,
        progress=progress,
    )
    _, val_ll = _fit_and_score(
        train,
        valid,
        [p for _, p, _ in grid],
        [t for _, _, t in grid],
        np.ravel(grid_seeds),
        label=f"{label}: grid",
        **settings,
    )
    val_ll = val_ll.reshape(len(data), rate_grid.size, tau_grid.size)

    # 2. The best pair of each split, retrained on the whole training split.
    best = [np.unravel_index(np.argmax(v), v.shape) for v in val_ll]
    rates = [float(rate_grid[i]) for i, _ in best]
    taus = [float(tau_grid[j]) for _, j in best]
    rmse, ll = _fit_and_score(
        [(s.X_train, s.y_train) for s in data],
        [(s.X_test, s.y_test) for s in data],
        rates,
        taus,
        final_seeds,
        label=f"{label}: retrain",
        **settings,
    )
    return {
        "rmse": rmse,
        "log_likelihood": ll,
        "dropout": np.array(rates),
        "tau": np.array(taus),
        "validation_log_likelihood": val_ll,
    }


def _fan_out_splits(data, splits, grid_seeds, final_seeds, settings, *, label, **fan):
    """:func:`_run_splits` one split per task; the splits' arrays, or an error naming the
    splits that failed (the protocol's result would be incomplete)."""
    tasks = [
        Task(
            f"split {k}",
            _run_splits,
            dict(
                data=[data[i]],
                grid_seeds=grid_seeds[i : i + 1],
                final_seeds=final_seeds[i : i + 1],
                progress=False,  # the fan-out's bar is over the splits
                label=f"{label} split {k}",
                **settings,
            ),
        )
        for i, k in enumerate(splits)
    ]
    outcomes = fan_out(tasks, label=f"{label}: splits", **fan)
    values = values_or_raise(outcomes, f"splits of {label}")
    return {key: np.concatenate([v[key] for v in values]) for key in values[0]}


def summarize(result: xr.Dataset) -> dict:
    """Mean and standard error (sd / sqrt(splits)) of test RMSE and log likelihood."""
    n = result.sizes["split"]
    out = {}
    for name in ("rmse", "log_likelihood"):
        v = result[name].values
        se = v.std(ddof=1) / np.sqrt(n) if n > 1 else float("nan")
        out[name] = (float(v.mean()), float(se))
    return out
