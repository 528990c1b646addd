"""bayes_reg: a penalty is a prior.

Gaussian and Laplace priors recast L2 and L1 penalties as MAP estimation; conversions
between each framework's penalty convention and the prior are exact. This is the public
face; the result types and helpers live in their modules (``bayes_reg.linear``,
``bayes_reg.nets``, ``bayes_reg.inference``, ``bayes_reg.run``).
"""

import jax as _jax
import numpyro as _numpyro

# The exact solvers need 64-bit floats (in float32, an ill-conditioned design silently gives
# wrong MAPs): float64 is the default, as in the CLI and the tests. The dropout MLP still
# trains in float32 through its own ``dtype`` argument, as Keras does.
_jax.config.update("jax_enable_x64", True)

# arviz_base registers numpyro as a lazy module when it is imported first; executing it now,
# before any numpyro submodule is imported, keeps numpyro's submodule attributes intact.
_numpyro.__version__  # noqa: B018

# The flow, bottom up: data, priors and conventions, then the linear and network sides.
from bayes_reg.cache import enable_compilation_cache  # noqa: E402
from bayes_reg.conventions import (  # noqa: E402
    ALL_CONVENTIONS,
    CONVENTIONS,
    DecoupledWeightDecayError,
    Penalty,
    convert,
    get_convention,
    tau_from_weight_decay,
    to_penalty,
    to_prior,
    weight_decay_from_tau,
)
from bayes_reg.data import breast_cancer, d2l_synthetic, diabetes, linnerud, toy_gap  # noqa: E402
from bayes_reg.design import Design, design_matrix  # noqa: E402
from bayes_reg.inference.diagnostics import diagnose  # noqa: E402
from bayes_reg.inference.result import Posterior  # noqa: E402
from bayes_reg.inference.sampler import Sampler  # noqa: E402
from bayes_reg.linear.compare import choose_strength, compare_path, map_gap, nearest_map  # noqa: E402
from bayes_reg.linear.exact import (  # noqa: E402
    best_prior_scale,
    exact_posterior,
    fit_evidence,
    log_evidence,
)
from bayes_reg.linear.fit import Fit, fit  # noqa: E402
from bayes_reg.linear.map import map_estimate, map_model, posterior_mode  # noqa: E402
from bayes_reg.linear.posterior import run_nuts, sample_posterior  # noqa: E402
from bayes_reg.linear.predict import predict, score  # noqa: E402
from bayes_reg.linear.regression import inverse_gamma_noise, linear_regression  # noqa: E402
from bayes_reg.linear.sgd import OPTIMIZERS, sgd_path  # noqa: E402
from bayes_reg.nets.approximations import approximate  # noqa: E402
from bayes_reg.nets.bnn import bayesian_mlp, bnn_posterior, implied_prior  # noqa: E402
from bayes_reg.nets.compare_dropout import (  # noqa: E402
    approximations_vs_posterior,
    compare_predictives,
    dropout_vs_posterior,
)
from bayes_reg.nets.dropout import mc_dropout, train_dropout  # noqa: E402
from bayes_reg.nets.laplace import fit_laplace, laplace_predictive  # noqa: E402
from bayes_reg.nets.mlp import Layer, init_mlp, mlp  # noqa: E402
from bayes_reg.nets.modes import ensemble_predictive, train_modes  # noqa: E402
from bayes_reg.nets.swag import swag  # noqa: E402
from bayes_reg.nets.target import Approximation, NetTarget, net_target  # noqa: E402
from bayes_reg.nets.uci_dropout import mc_dropout_protocol  # noqa: E402
from bayes_reg.nets.vi import mean_field_vi  # noqa: E402
from bayes_reg.noise import (  # noqa: E402
    Exponential,
    FlatNoise,
    HalfCauchy,
    HalfNormal,
    HalfStudentT,
    InverseGamma,
    Known,
)
from bayes_reg.predictive import predictive_metrics  # noqa: E402
from bayes_reg.priors import (  # noqa: E402
    ElasticNet,
    Flat,
    Gaussian,
    Laplace,
    StudentT,
    prior_from_name,
)
from bayes_reg.rescaling import rescale_rows, rescale_target  # noqa: E402
from bayes_reg.uci import load_uci  # noqa: E402

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
