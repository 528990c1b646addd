r"""Point estimates set against the posterior they claim to summarise.

For every strength of a weight-decay path (:func:`bayes_reg.linear.sgd.sgd_path`) the convention
of the path (``d2l`` for the L2 optimisers, ``sklearn-lasso`` for the L1 ones) names the
prior that strength encodes. :func:`compare_path` then puts the trained weights beside the
exact MAP under that prior and beside its posterior (exact draws under a Gaussian prior,
NUTS otherwise). :func:`map_gap` follows the distance to the MAP over training,
:func:`nearest_map` asks whether a solution is the MAP of *any* Gaussian prior, and
:func:`choose_strength` sets the evidence against validation and test loss.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np
import scipy.linalg
import scipy.optimize
import xarray as xr
from jax.typing import ArrayLike

from bayes_reg import _validate
from bayes_reg.conventions import get_convention, to_prior
from bayes_reg.inference.sampler import Sampler, as_sampler
from bayes_reg.linear.exact import log_evidence, loo_log_density
from bayes_reg.linear.map import map_estimate
from bayes_reg.linear.posterior import closed_form, conjugate_family, sample_posterior
from bayes_reg.per_feature import in_feature_order
from bayes_reg.predictive import log_likelihood
from bayes_reg.priors import Prior

__all__ = [
    "PosteriorDraws",
    "posterior_draws",
    "compare_path",
    "map_gap",
    "NearestMap",
    "nearest_map",
    "choose_strength",
    "INTERVAL",
]

#: Probability of the central posterior interval reported (ArviZ's classic 94%).
INTERVAL = 0.94


class PosteriorDraws(NamedTuple):
    """Posterior draws of a linear model, pooled over chains.

    ``w`` has shape (n_draws, n_features), ``b`` (n_draws,). ``w_mean`` and ``w_cov`` are
    the exact posterior mean and covariance of ``w`` when known (Gaussian prior), else
    ``None``. ``diagnostics``
    holds NUTS's checks when NUTS drew them, else ``None``. ``exact`` says which.
    """

    w: np.ndarray
    b: np.ndarray
    w_mean: np.ndarray | None
    w_cov: np.ndarray | None
    diagnostics: object
    exact: bool


def posterior_draws(
    X: ArrayLike,
    y: ArrayLike,
    prior: Prior,
    sigma: float,
    *,
    method: str = "auto",
    sampler: Sampler | None = None,
    seed: int | jax.Array = 0,
    progress: bool = False,
) -> PosteriorDraws:
    """Draws from the posterior of :func:`~bayes_reg.linear.regression.linear_regression`.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
    prior : Gaussian, Laplace or ElasticNet
    sigma : float
        Known noise scale.
    method : {"auto", "exact", "nuts"}
        As in :func:`~bayes_reg.linear.posterior.sample_posterior`: exact i.i.d. draws where the
        posterior is conjugate (``"auto"``), or NUTS.
    sampler, seed, progress
        As in :func:`~bayes_reg.linear.posterior.sample_posterior`; exact sampling draws
        ``chains * draws``.

    Returns
    -------
    PosteriorDraws
    """
    _validate.one_of("method", method, ("auto", "exact", "nuts"))
    sampler = as_sampler(sampler)
    if method != "nuts" and conjugate_family(prior, sigma) == "gaussian":
        # Straight from the closed form: no DataTree, predictive or diagnostics to build.
        closed = closed_form(X, y, in_feature_order(prior, np.shape(X)[1]), sigma)
        theta = closed.sample(_validate.key(seed), (sampler.chains * sampler.draws,))
        w_mean, w_cov = np.asarray(closed.w_mean), np.asarray(closed.cov)[1:, 1:]
        return PosteriorDraws(
            np.asarray(theta["w"]), np.asarray(theta["b"]), w_mean, w_cov, None, True
        )
    result = sample_posterior(
        X, y, prior=prior, sigma=sigma, method=method, sampler=sampler, seed=seed, progress=progress
    )
    post = result.tree["posterior"]
    w = post["w"].stack(sample=("chain", "draw")).transpose("sample", "feature").values
    b = post["b"].stack(sample=("chain", "draw")).values
    return PosteriorDraws(w, b, None, None, result.diagnostics, False)


def _mahalanobis(x, draws: PosteriorDraws) -> float:
    exact = draws.w_cov is not None
    mean = draws.w_mean if exact else draws.w.mean(0)
    cov = draws.w_cov if exact else np.cov(draws.w.T)
    diff = x - mean
    try:  # a Cholesky solve; a sample covariance with fewer draws than features is singular
        return float(np.sqrt(diff @ scipy.linalg.cho_solve(scipy.linalg.cho_factor(cov), diff)))
    except np.linalg.LinAlgError:
        return float(np.sqrt(diff @ np.linalg.lstsq(np.atleast_2d(cov), diff, rcond=None)[0]))


def _relative(distance: float, size: float) -> float:
    """distance / size; a MAP at exactly w = 0 (a strong L1 prior) gives 0 or infinity."""
    if size > 0:
        return distance / size
    return 0.0 if distance == 0 else np.inf


def _loss(X, y, w, b) -> float:
    """mean(r²/2), the loss of the d2l chapter (and of :func:`~bayes_reg.linear.sgd.sgd_path`)."""
    return float(np.mean((X @ w + b - y) ** 2) / 2)


def _lppd(X, y, draws: PosteriorDraws, sigma) -> float:
    """Log pointwise predictive density per test point: mean_i log mean_s N(y_i | mu_si, σ²)."""
    return float(np.mean(log_likelihood(draws.w @ X.T + draws.b[:, None], y, sigma)))


def compare_path(
    path: xr.Dataset,
    X: ArrayLike,
    y: ArrayLike,
    *,
    sigma: float,
    X_test: ArrayLike | None = None,
    y_test: ArrayLike | None = None,
    strengths: ArrayLike | None = None,
    method: str = "auto",
    sampler: Sampler | None = None,
    seed: int | jax.Array = 0,
    progress: bool = False,
) -> xr.Dataset:
    r"""The trained weights of ``path`` against the MAP and the posterior of their prior.

    Parameters
    ----------
    path : xarray.Dataset
        A result of :func:`~bayes_reg.linear.sgd.sgd_path` trained on ``X, y``.
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
    sigma : float
        The noise scale of the Bayesian model; it turns each strength into a prior scale.
    X_test, y_test : arrays, optional
        Held-out data for test losses and the posterior-predictive log density.
    strengths : array, optional
        The strengths to compare (a subset of ``path.strength``); default all > 0
        (strength 0 is no prior at all).
    method : {"auto", "exact", "nuts"}
        How to draw the posterior; see :func:`posterior_draws`.
    sampler, seed, progress
        As in :func:`~bayes_reg.linear.posterior.sample_posterior` (NUTS runs once per
        strength).

    Returns
    -------
    xarray.Dataset
        Dims ``strength`` and ``feature``. Per strength and feature: ``w_sgd``, ``w_map``,
        ``post_mean``, ``post_median``, ``post_sd``, ``post_low`` and ``post_high`` (the
        central 94% interval), ``quantile_sgd`` (share of posterior draws below the SGD
        weight). Per strength: ``prior_scale``; ``rel_dist_map`` =
        ‖w_sgd − w_map‖ / ‖w_map‖; ``mahalanobis`` of w_sgd under the posterior (about
        √d for a typical posterior draw, see ``mahalanobis_typical``); ``share_inside``,
        the share of SGD weights inside their interval; ``n_zero_sgd`` / ``n_zero_map`` /
        ``n_zero_post_median`` (exact zeros); with test data ``test_loss_sgd``,
        ``test_loss_map``, ``test_loss_post_mean`` (mean r²/2) and ``test_lppd``; and the
        NUTS checks ``max_rhat``, ``min_ess_bulk``, ``divergences`` (NaN for exact draws);
        ``exact_posterior`` says which kind of draws were used.
    """
    X, y = _validate.design(X, y)
    _check_path(path, X)
    X_test, y_test = _validate.held_out(X_test, y_test, X.shape[1])
    sigma = _validate.positive("sigma", sigma)
    _validate.one_of("method", method, ("auto", "exact", "nuts"))
    sampler = as_sampler(sampler)
    key = _validate.key(seed)
    _validate.informative(X, y, "the relative distance to the MAP (the MAP is w = 0)")
    n, d = X.shape
    if strengths is None:
        grid = path.strength.values
    else:
        grid = _validate.grid("strengths", strengths, allow_zero=True)
        missing = np.setdiff1d(grid, path.strength.values)
        if missing.size:
            raise ValueError(
                f"strengths {missing.tolist()} are not in the path; it has"
                f" {path.strength.values.tolist()}"
            )
    grid = [float(s) for s in grid if s > 0]
    if not grid:
        raise ValueError("no strength > 0 to compare: strength 0 encodes no prior")
    convention = path.attrs["convention"]
    lo_q, hi_q = (1 - INTERVAL) / 2, (1 + INTERVAL) / 2

    rows = []
    for s in grid:
        sgd = path.sel(strength=s)
        w_sgd, b_sgd = sgd.w.values, float(sgd.b)
        prior = to_prior(convention, s, n=n, sigma=sigma)
        mode = map_estimate(X, y, prior, sigma)
        w_map, b_map = np.asarray(mode.w), float(mode.b)
        post = posterior_draws(
            X, y, prior, sigma, method=method, sampler=sampler, seed=key, progress=progress
        )
        median = np.median(post.w, 0)
        low, high = np.quantile(post.w, [lo_q, hi_q], axis=0)
        row = {
            "w_sgd": w_sgd,
            "w_map": w_map,
            "post_mean": post.w.mean(0),
            "post_median": median,
            "post_sd": post.w.std(0, ddof=1),
            "post_low": low,
            "post_high": high,
            "quantile_sgd": (post.w < w_sgd).mean(0),
            "prior_scale": prior.scale,
            "rel_dist_map": _relative(np.linalg.norm(w_sgd - w_map), np.linalg.norm(w_map)),
            "mahalanobis": _mahalanobis(w_sgd, post),
            "share_inside": np.mean((w_sgd >= low) & (w_sgd <= high)),
            "n_zero_sgd": int(np.sum(w_sgd == 0)),
            "n_zero_map": int(np.sum(w_map == 0)),
            "n_zero_post_median": int(np.sum(median == 0)),
            "max_rhat": post.diagnostics.max_rhat if post.diagnostics else np.nan,
            "min_ess_bulk": post.diagnostics.min_ess_bulk if post.diagnostics else np.nan,
            "divergences": post.diagnostics.divergences if post.diagnostics else np.nan,
            "exact_posterior": post.exact,
        }
        if X_test is not None:
            row |= {
                "test_loss_sgd": _loss(X_test, y_test, w_sgd, b_sgd),
                "test_loss_map": _loss(X_test, y_test, w_map, b_map),
                "test_loss_post_mean": _loss(X_test, y_test, post.w.mean(0), post.b.mean()),
                "test_lppd": _lppd(X_test, y_test, post, sigma),
            }
        rows.append(row)

    out = xr.Dataset(
        {
            k: (
                ("strength", "feature") if np.ndim(rows[0][k]) else ("strength",),
                np.array([r[k] for r in rows]),
            )
            for k in rows[0]
        },
        coords={"strength": grid, "feature": path.feature.values},
    )
    out["mahalanobis_typical"] = np.sqrt(d)
    out.attrs = {
        "convention": convention,
        "sigma": sigma,
        "interval": INTERVAL,
        "optimizer": path.attrs.get("optimizer", ""),
    }
    return out


def map_gap(path: xr.Dataset, X: ArrayLike, y: ArrayLike) -> xr.DataArray:
    """Relative distance ‖w_t − w_map‖ / ‖w_map‖ after every epoch, per strength > 0.

    Needs a path trained with ``record_weights=True``. The MAP of a convention's strength
    does not depend on the noise scale (the conversion is exact), so none is asked for.
    """
    X, y = _validate.design(X, y)
    _check_path(path, X)
    if "w_epoch" not in path:
        raise ValueError("path has no w_epoch: train it with sgd_path(..., record_weights=True)")
    _validate.informative(X, y, "the relative distance to the MAP (the MAP is w = 0)")
    gaps = []
    grid = [float(s) for s in path.strength.values if s > 0]
    for s in grid:
        prior = to_prior(path.attrs["convention"], s, n=X.shape[0], sigma=1.0)
        w_map = np.asarray(map_estimate(X, y, prior, 1.0).w)
        w_t = path.w_epoch.sel(strength=s).values
        gaps.append(np.linalg.norm(w_t - w_map, axis=1) / np.linalg.norm(w_map))
    return xr.DataArray(
        np.array(gaps),
        coords={"strength": grid, "epoch": path.epoch.values},
        dims=("strength", "epoch"),
        name="map_gap",
    )


def _check_path(path, X) -> None:
    """``path`` must be a result of :func:`~bayes_reg.linear.sgd.sgd_path` with X's columns."""
    if not isinstance(path, xr.Dataset) or "w" not in path or "convention" not in path.attrs:
        raise TypeError(f"path must be a result of sgd_path (an xarray.Dataset), got {path!r:.60}")
    if path.sizes["feature"] != X.shape[1]:
        raise ValueError(
            f"path has {path.sizes['feature']} features but X has {X.shape[1]} columns"
        )


class NearestMap(NamedTuple):
    """The Gaussian-prior MAP nearest to some weights: its d2l strength and distance."""

    strength: float
    rel_distance: float


def nearest_map(X: ArrayLike, y: ArrayLike, w: ArrayLike, *, convention: str = "d2l") -> NearestMap:
    """Is ``w`` the MAP of *some* Gaussian prior? The closest ridge solution over all strengths.

    Minimises ‖w_map(λ) − w‖ / ‖w‖ over ``log λ`` (bounded search over 24 decades). A
    distance near 0 means ``w`` lies on the ridge path; a clear gap means no fixed Gaussian
    prior has ``w`` as its mode.
    """
    X, y = _validate.design(X, y)
    w = _validate.vector("w", w, X.shape[1])
    if not w.any():
        raise ValueError("w is all zeros: the relative distance ‖w_map − w‖ / ‖w‖ is undefined")
    _least_squares(convention)
    n = X.shape[0]

    def distance(log_s):
        prior = to_prior(convention, float(np.exp(log_s)), n=n, sigma=1.0)
        return np.linalg.norm(np.asarray(map_estimate(X, y, prior, 1.0).w) - w) / np.linalg.norm(w)

    grid = np.linspace(np.log(1e-12), np.log(1e12), 97)
    start = grid[int(np.argmin([distance(g) for g in grid]))]
    step = grid[1] - grid[0]
    res = scipy.optimize.minimize_scalar(
        distance, bounds=(start - step, start + step), method="bounded", options={"xatol": 1e-10}
    )
    return NearestMap(float(np.exp(res.x)), float(res.fun))


def choose_strength(
    X: ArrayLike,
    y: ArrayLike,
    strengths: ArrayLike,
    *,
    sigma: float,
    X_val: ArrayLike,
    y_val: ArrayLike,
    X_test: ArrayLike | None = None,
    y_test: ArrayLike | None = None,
    convention: str = "d2l",
) -> xr.Dataset:
    """Which strength each criterion picks: the evidence, leave-one-out, the validation loss,
    the test loss.

    Each strength is turned into a Gaussian prior (``convention``, ``sigma``); the MAP fit
    on ``X, y`` gives the train, validation and test losses (mean r²/2); the exact log
    evidence of the training data scores the prior itself (on centred data, as
    :func:`~bayes_reg.linear.exact.log_evidence`), and the exact leave-one-out elpd
    (:func:`~bayes_reg.linear.exact.loo_log_density`, what PSIS-LOO estimates from draws)
    scores its posterior predictive on each training row left out in turn.

    Returns
    -------
    xarray.Dataset
        Dim ``strength``: ``prior_scale``, ``log_evidence``, ``elpd_loo``, ``train_loss``,
        ``val_loss`` and, with test data, ``test_loss``. Attributes ``best_by_evidence``,
        ``best_by_loo``, ``best_by_validation`` and ``best_by_test`` (strength values).
    """
    X, y = _validate.design(X, y)
    X_val, y_val = _validate.held_out(X_val, y_val, X.shape[1], names=("X_val", "y_val"))
    if X_val is None:
        raise ValueError("X_val and y_val are required: the validation loss needs them")
    X_test, y_test = _validate.held_out(X_test, y_test, X.shape[1])
    grid = _validate.grid("strengths", strengths, allow_zero=False)
    sigma = _validate.positive("sigma", sigma)
    _least_squares(convention)
    n = X.shape[0]
    names = ("prior_scale", "log_evidence", "elpd_loo", "train_loss", "val_loss", "test_loss")
    out = {k: [] for k in names}
    for s in grid:
        prior = to_prior(convention, float(s), n=n, sigma=sigma)
        fit = map_estimate(X, y, prior, sigma)
        w, b = np.asarray(fit.w), float(fit.b)
        out["prior_scale"].append(prior.scale)
        out["log_evidence"].append(log_evidence(X, y, prior_scale=prior.scale, sigma=sigma))
        loo = loo_log_density(X, y, prior_scale=prior.scale, sigma=sigma)
        out["elpd_loo"].append(float(loo.sum()))
        out["train_loss"].append(_loss(X, y, w, b))
        out["val_loss"].append(_loss(X_val, y_val, w, b))
        if X_test is not None:
            out["test_loss"].append(_loss(X_test, y_test, w, b))
    if X_test is None:
        del out["test_loss"]
    ds = xr.Dataset(
        {k: ("strength", np.array(v)) for k, v in out.items()}, coords={"strength": grid}
    )
    ds.attrs = {
        "convention": convention,
        "sigma": float(sigma),
        "best_by_evidence": float(grid[np.argmax(ds.log_evidence.values)]),
        "best_by_loo": float(grid[np.argmax(ds.elpd_loo.values)]),
        "best_by_validation": float(grid[np.argmin(ds.val_loss.values)]),
    }
    if X_test is not None:
        ds.attrs["best_by_test"] = float(grid[np.argmin(ds.test_loss.values)])
    return ds


def _least_squares(convention: str) -> None:
    """Refuse a GLM convention where the comparison fits least squares."""
    likelihood = get_convention(convention).likelihood
    if likelihood != "gaussian":
        raise ValueError(
            f"{convention!r} penalises a {likelihood} likelihood; this comparison fits least "
            "squares: use a least-squares convention (bayes_reg.conventions.CONVENTIONS)"
        )
