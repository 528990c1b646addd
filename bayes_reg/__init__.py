"""bayes_reg: a penalty is a prior.

Gaussian and Laplace priors recast L2 and L1 penalties as MAP estimation; conversions
between each framework's penalty convention and the prior are exact. This is the public
face; the result types and helpers live in their modules (``bayes_reg.linear``,
``bayes_reg.nets``, ``bayes_reg.inference``, ``bayes_reg.run``).

The names below are loaded when first used (PEP 562), so ``import bayes_reg`` and the
command line's quick commands do not import JAX; the first name that needs it does.

>>> import bayes_reg
>>> bayes_reg.Gaussian(0.5)
Gaussian(scale=0.5)
"""

import os as _os
import sys as _sys
from importlib import import_module as _import_module
from importlib.util import find_spec as _find_spec

from bayes_reg._values import after_import as _after_import


def _configure_jax() -> None:
    """JAX's settings for bayes_reg, applied on ``import bayes_reg`` without importing JAX.

    Each setting goes through its environment variable, which JAX reads when it is imported,
    or straight to ``jax.config`` when JAX is already imported.

    - float64 (``jax_enable_x64``): the exact solvers need 64-bit floats (in float32, an
      ill-conditioned design silently gives wrong MAPs), as in the CLI and the tests. The
      dropout MLP still trains in float32 through its own ``dtype`` argument, as Keras does.
    - one CPU device per core (``jax_num_cpu_devices``), so that NUTS chains and independent
      networks run in parallel; a count the user set (``JAX_NUM_CPU_DEVICES``, or XLA's
      ``--xla_force_host_platform_device_count``) is kept, and so is JAX's single device when
      JAX has already started computing before bayes_reg was imported.
    """
    devices = None  # None: the user chose a count
    if "JAX_NUM_CPU_DEVICES" not in _os.environ and (
        "xla_force_host_platform_device_count" not in _os.environ.get("XLA_FLAGS", "")
    ):
        # The cores this process may use (no sched_getaffinity on macOS or Windows).
        if hasattr(_os, "sched_getaffinity"):
            devices = len(_os.sched_getaffinity(0))
        else:
            devices = _os.cpu_count() or 1
    if "jax" in _sys.modules:
        import jax

        jax.config.update("jax_enable_x64", True)
        if devices is not None and jax.config.jax_num_cpu_devices < 0:
            try:
                jax.config.update("jax_num_cpu_devices", devices)
            except RuntimeError:  # JAX's backends already run: their device count stays
                pass
    else:
        _os.environ["JAX_ENABLE_X64"] = "1"
        if devices is not None:
            _os.environ["JAX_NUM_CPU_DEVICES"] = str(devices)


def _load_lazy_numpyro(arviz_base) -> None:
    """arviz_base registers numpyro (and jax) as lazy modules when it is imported before them;
    a numpyro submodule imported (``from numpyro.infer import ...``) before that lazy module has
    run is then loaded twice and loses its own submodules (``numpyro.distributions.
    distribution``). Running numpyro as soon as arviz_base is imported keeps them intact."""
    numpyro = _sys.modules.get("numpyro")
    if numpyro is not None:
        numpyro.__version__  # noqa: B018  (any attribute runs a lazy module)


_configure_jax()
_after_import("arviz_base", _load_lazy_numpyro)

# Where each public name lives: the flow, bottom up (docs/ARCHITECTURE.md): data, priors and
# noise; the conventions; inference; then the linear and the network sides.
_EXPORTS = {
    "bayes_reg._validate": ("UninformedWarning",),
    "bayes_reg.cache": ("enable_compilation_cache",),
    "bayes_reg.data": ("breast_cancer", "d2l_synthetic", "diabetes", "linnerud", "toy_gap"),
    "bayes_reg.uci": ("load_uci",),
    "bayes_reg.design": ("Design", "design_matrix"),
    "bayes_reg.priors": (
        "ElasticNet",
        "Flat",
        "Gaussian",
        "Laplace",
        "StudentT",
        "prior_from_name",
    ),
    "bayes_reg.noise": (
        "Exponential",
        "FlatNoise",
        "HalfCauchy",
        "HalfNormal",
        "HalfStudentT",
        "InverseGamma",
        "Known",
    ),
    "bayes_reg.predictive": ("predictive_metrics",),
    "bayes_reg.conventions": (
        "ALL_CONVENTIONS",
        "CONVENTIONS",
        "DecoupledWeightDecayError",
        "Penalty",
        "convert",
        "get_convention",
        "tau_from_weight_decay",
        "to_penalty",
        "to_prior",
        "weight_decay_from_tau",
    ),
    "bayes_reg.rescaling": ("rescale_rows", "rescale_target"),
    "bayes_reg.inference.sampler": ("Sampler",),
    "bayes_reg.inference.result": ("Posterior",),
    "bayes_reg.inference.diagnostics": ("diagnose",),
    "bayes_reg.linear.names": ("OPTIMIZERS",),
    "bayes_reg.linear.regression": ("inverse_gamma_noise", "linear_regression"),
    "bayes_reg.inference.mode": ("map_model",),
    "bayes_reg.linear.map": ("map_estimate", "posterior_mode"),
    "bayes_reg.linear.exact": (
        "best_prior_scale",
        "exact_posterior",
        "fit_evidence",
        "log_evidence",
    ),
    "bayes_reg.linear.posterior": ("run_nuts", "sample_posterior"),
    "bayes_reg.linear.predict": ("predict", "score"),
    "bayes_reg.linear.fit": ("Fit", "fit"),
    "bayes_reg.linear.sgd": ("sgd_path",),
    "bayes_reg.linear.compare": ("choose_strength", "compare_path", "map_gap", "nearest_map"),
    "bayes_reg.nets.mlp": ("Layer", "init_mlp", "mlp"),
    "bayes_reg.nets.target": ("Approximation", "NetTarget", "net_target"),
    "bayes_reg.nets.dropout": ("mc_dropout", "train_dropout"),
    "bayes_reg.nets.bnn": ("bayesian_mlp", "bnn_posterior", "implied_prior"),
    "bayes_reg.nets.modes": ("ensemble_predictive", "train_modes"),
    "bayes_reg.nets.laplace": ("fit_laplace", "laplace_predictive"),
    "bayes_reg.nets.vi": ("mean_field_vi",),
    "bayes_reg.nets.swag": ("swag",),
    "bayes_reg.nets.approximations": ("approximate",),
    "bayes_reg.nets.compare_dropout": (
        "approximations_vs_posterior",
        "compare_predictives",
        "dropout_vs_posterior",
    ),
    "bayes_reg.nets.uci_dropout": ("mc_dropout_protocol",),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name: str):
    """Load a public name (or a submodule, as ``bayes_reg.linear``) on first use."""
    if name in _MODULE_OF:
        value = getattr(_import_module(_MODULE_OF[name]), name)
        globals()[name] = value  # later look-ups find it without this function
        return value
    if not name.startswith("_") and _find_spec(f"{__name__}.{name}"):
        return _import_module(f"{__name__}.{name}")
    raise AttributeError(
        f"module {__name__!r} has no attribute {name!r}; its public names are listed in "
        f"{__name__}.__all__"
    )


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__version__ = "0.1.0"

__all__ = [
    "ALL_CONVENTIONS",
    "Approximation",
    "NetTarget",
    "approximate",
    "approximations_vs_posterior",
    "ensemble_predictive",
    "fit_laplace",
    "laplace_predictive",
    "mean_field_vi",
    "net_target",
    "swag",
    "train_modes",
    "CONVENTIONS",
    "OPTIMIZERS",
    "DecoupledWeightDecayError",
    "Design",
    "ElasticNet",
    "Exponential",
    "Fit",
    "Flat",
    "FlatNoise",
    "Gaussian",
    "HalfCauchy",
    "HalfNormal",
    "HalfStudentT",
    "InverseGamma",
    "Known",
    "Laplace",
    "Layer",
    "Penalty",
    "Posterior",
    "Sampler",
    "StudentT",
    "UninformedWarning",
    "bayesian_mlp",
    "best_prior_scale",
    "breast_cancer",
    "bnn_posterior",
    "choose_strength",
    "compare_path",
    "compare_predictives",
    "convert",
    "d2l_synthetic",
    "design_matrix",
    "diabetes",
    "diagnose",
    "dropout_vs_posterior",
    "enable_compilation_cache",
    "exact_posterior",
    "fit",
    "fit_evidence",
    "get_convention",
    "implied_prior",
    "init_mlp",
    "inverse_gamma_noise",
    "linear_regression",
    "linnerud",
    "load_uci",
    "log_evidence",
    "map_estimate",
    "map_gap",
    "map_model",
    "mc_dropout",
    "mc_dropout_protocol",
    "mlp",
    "nearest_map",
    "posterior_mode",
    "predict",
    "predictive_metrics",
    "prior_from_name",
    "rescale_rows",
    "rescale_target",
    "run_nuts",
    "sample_posterior",
    "score",
    "sgd_path",
    "tau_from_weight_decay",
    "to_penalty",
    "to_prior",
    "toy_gap",
    "train_dropout",
    "weight_decay_from_tau",
]
