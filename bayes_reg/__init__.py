"""bayes_reg: a penalty is a prior.

Gaussian and Laplace priors recast L2 and L1 penalties as MAP estimation; conversions
between each framework's penalty convention and the prior are exact.
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

from bayes_reg.bnn import BNNPosterior, bayesian_mlp, bnn_posterior, implied_prior  # noqa: E402
from bayes_reg.cache import enable_compilation_cache  # noqa: E402
from bayes_reg.compare import (  # noqa: E402
    NearestMap,
    PosteriorDraws,
    choose_strength,
    compare_path,
    map_gap,
    nearest_map,
    posterior_draws,
)
from bayes_reg.compare_dropout import (  # noqa: E402
    DropoutComparison,
    compare_predictives,
    dropout_vs_posterior,
)
from bayes_reg.conventions import (  # noqa: E402
    CONVENTIONS,
    DecoupledWeightDecayError,
    Penalty,
    convert,
    get_convention,
    rescale_rows,
    rescale_target,
    to_penalty,
    to_prior,
)
from bayes_reg.data import D2LData, Dataset, ToyGap, d2l_synthetic, diabetes, toy_gap, toy_gap_truth  # noqa: E402
from bayes_reg.dropout import (  # noqa: E402
    DropoutNet,
    MCDropout,
    mc_dropout,
    tau_from_weight_decay,
    train_dropout,
    weight_decay_from_tau,
)
from bayes_reg.exact import (  # noqa: E402
    EvidenceFit,
    ExactPosterior,
    NIGPosterior,
    best_prior_scale,
    exact_posterior,
    fit_evidence,
    log_evidence,
    nig_posterior,
)
from bayes_reg.inference import (  # noqa: E402
    Diagnostics,
    NutsResult,
    diagnose,
    run_nuts,
    sample_posterior,
)
from bayes_reg.map import MapEstimate, map_estimate, map_model  # noqa: E402
from bayes_reg.mlp import Layer, init_mlp, mlp  # noqa: E402
from bayes_reg.predictive import predictive_metrics  # noqa: E402
from bayes_reg.priors import ElasticNet, Gaussian, Laplace, prior_from_name  # noqa: E402
from bayes_reg.regression import inverse_gamma_noise, linear_regression  # noqa: E402
from bayes_reg.sgd import OPTIMIZERS, sgd_path  # noqa: E402
from bayes_reg.uci import UCI_DIR, load_uci  # noqa: E402
from bayes_reg.uci_dropout import mc_dropout_protocol  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "BNNPosterior",
    "DropoutComparison",
    "DropoutNet",
    "Layer",
    "MCDropout",
    "ToyGap",
    "UCI_DIR",
    "bayesian_mlp",
    "bnn_posterior",
    "compare_predictives",
    "dropout_vs_posterior",
    "implied_prior",
    "init_mlp",
    "load_uci",
    "mc_dropout",
    "mc_dropout_protocol",
    "mlp",
    "predictive_metrics",
    "tau_from_weight_decay",
    "toy_gap",
    "toy_gap_truth",
    "train_dropout",
    "weight_decay_from_tau",
    "NearestMap",
    "PosteriorDraws",
    "choose_strength",
    "compare_path",
    "map_gap",
    "nearest_map",
    "posterior_draws",
    "CONVENTIONS",
    "D2LData",
    "Dataset",
    "DecoupledWeightDecayError",
    "Diagnostics",
    "ElasticNet",
    "EvidenceFit",
    "ExactPosterior",
    "Gaussian",
    "Laplace",
    "MapEstimate",
    "NutsResult",
    "OPTIMIZERS",
    "Penalty",
    "best_prior_scale",
    "convert",
    "d2l_synthetic",
    "diabetes",
    "enable_compilation_cache",
    "diagnose",
    "exact_posterior",
    "fit_evidence",
    "get_convention",
    "inverse_gamma_noise",
    "linear_regression",
    "NIGPosterior",
    "nig_posterior",
    "log_evidence",
    "map_estimate",
    "map_model",
    "prior_from_name",
    "rescale_rows",
    "rescale_target",
    "run_nuts",
    "sample_posterior",
    "sgd_path",
    "to_penalty",
    "to_prior",
]
