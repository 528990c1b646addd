"""The ``posterior.nc`` of a dropout card: the Bayesian MLP's NUTS run under ArviZ's group
names, one group per approximation beside it (the same ``f`` over ``test_obs``), the trained
dropout network, and the scores of every method."""

from __future__ import annotations

import numpy as np
import xarray as xr

from bayes_reg.nets.approximations import LABELS

__all__ = ["network_tree"]

_DESCRIPTIONS = {
    "mc_dropout": "MC-dropout passes: the network with dropout on",
    "deep_ensemble": "one network per member, each trained to a mode of the posterior",
    "deep_ensemble_variance": "one network per member with its own noise variance head; "
    "noise_sd is each member's predicted noise sd",
    "laplace": "draws of the linearised (GLM) predictive of the Laplace approximation at the "
    "first ensemble member's mode, prior from the weight decay",
    "laplace_sampled": "the network at weights drawn from the Laplace approximation",
    "laplace_marglik": "the linearised Laplace predictive with the prior precision chosen by "
    "the marginal likelihood",
    "mean_field_vi": "the network at weights drawn from the mean-field Gaussian (SVI, AutoNormal)",
    "swag": "the network at weights drawn from SWAG's Gaussian of the SGD iterates",
}


def network_tree(cmp, data, settings: dict) -> xr.DataTree:
    """The DataTree of :func:`bayes_reg.nets.compare_dropout.approximations_vs_posterior`'s
    result ``cmp`` on the card's ``data``."""
    bnn = cmp.posterior.tree
    test_obs = np.arange(len(data.y_test))
    obs = np.arange(len(data.y))
    tree = xr.DataTree()
    tree["posterior"] = bnn["posterior"].to_dataset()
    tree["sample_stats"] = bnn["sample_stats"].to_dataset()
    tree["log_likelihood"] = bnn["log_likelihood"].to_dataset().assign_coords(obs=obs)
    tree["observed_data"] = xr.Dataset({"y": ("obs", data.y)}, coords={"obs": obs})
    tree["constant_data"] = xr.Dataset(
        {
            "X": (("obs", "feature"), data.X),
            "X_test": (("test_obs", "feature"), data.X_test),
            "y_test": ("test_obs", data.y_test),
        },
        coords={"obs": obs, "test_obs": test_obs, "feature": list(data.feature_names)},
    )
    attrs = {k: v for k, v in settings.items() if isinstance(v, int | float | str)}
    for method, approximation in cmp.approximations.items():
        tree[method] = _approximation_group(method, approximation, test_obs, attrs, settings)
    if cmp.net is not None:
        tree["dropout_net"] = _dropout_net_group(cmp.net)
    tree["metrics"] = cmp.metrics
    tree["by_input"] = cmp.by_input.assign_coords(test_obs=test_obs)
    tree["calibration"] = cmp.calibration
    tree.attrs.update(bnn.attrs)
    tree.attrs["design"] = data.design.to_json()  # so `bayes-reg predict` reads new rows
    tree.attrs["model"] = (
        f"Bayesian MLP {tuple(settings['hidden'])} (ReLU) with the Gaussian prior the dropout "
        "network's weight decay implies, noise fixed at 1 / tau; groups posterior and "
        "sample_stats are its NUTS run, "
        + ", ".join(cmp.approximations)
        + " the approximations' function draws at the test points"
    )
    return tree


def _approximation_group(method, approximation, test_obs, attrs, settings) -> xr.Dataset:
    draw = "pass" if method == "mc_dropout" else "draw"
    f = approximation.draws
    data = {"f": ((draw, "test_obs"), f)}
    if np.ndim(approximation.noise_sd):
        data["noise_sd"] = ((draw, "test_obs"), approximation.noise_sd)
    info = {k: v for k, v in approximation.info.items() if isinstance(v, bool | int | float | str)}
    info = {k: int(v) if isinstance(v, bool) else v for k, v in info.items()}
    group = xr.Dataset(
        data,
        coords={draw: np.arange(f.shape[0]), "test_obs": test_obs},
        attrs=attrs
        | info
        | {
            "label": LABELS[method],
            "seconds": approximation.seconds,
            "hidden": np.asarray(settings["hidden"]),
        },
    )
    group["f"].attrs["description"] = (
        f"{_DESCRIPTIONS[method]}, in the units of y; the predictive of each test point is "
        "the mixture over the draws of N(f, noise sd^2)"
    )
    return group


def _dropout_net_group(net) -> xr.Dataset:
    layers = {}
    for i, layer in enumerate(net.params):
        layers[f"w{i}"] = ((f"in{i}", f"out{i}"), np.asarray(layer.w))
        layers[f"b{i}"] = ((f"out{i}",), np.asarray(layer.b))
    return xr.Dataset(
        {"loss": ("epoch", np.asarray(net.loss, float))} | layers,
        coords={"epoch": np.arange(1, len(net.loss) + 1)},
        attrs={
            "description": "the trained dropout network: weights act on standardised inputs "
            "and predict the standardised target; loss is each epoch's mean minibatch objective",
            "x_mean": np.asarray(net.scaling.x_mean, float),
            "x_sd": np.asarray(net.scaling.x_sd, float),
            "y_mean": net.scaling.y_mean,
            "y_sd": net.scaling.y_sd,
            "seconds": net.seconds,
        },
    )
