"""The penalty conventions as data: one row per framework, its data weight :math:`D`, penalty
factors :math:`c_1, c_2` and likelihood (the formula that turns a row into a prior is
:mod:`bayes_reg.conventions`')."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "Convention",
    "ALL_CONVENTIONS",
    "CONVENTIONS",
    "FAMILIES",
    "SCALED",
    "PENALISED_AS",
]

#: The prior families a penalty can be: L2, L1, both.
FAMILIES = ("gaussian", "laplace", "elastic-net")
#: The likelihoods whose data term is in units of a scale ``sigma`` that a convention needs:
#: least squares (the noise sd) and the gamma's deviance (its coefficient of variation).
SCALED = ("gaussian", "gamma")
#: A model's likelihood whose penalties are another's conventions: a binomial row of ``n``
#: trials is its ``n`` Bernoulli log-losses summed (+ a constant), so a framework given each
#: row's successes and failures (statsmodels' two-column ``endog``, scikit-learn's sample
#: weights on a success row and a failure row, PyTorch's and Keras's cross-entropy of the
#: proportions weighted by the trials) penalises it by a Bernoulli convention, its ``n`` the
#: table's rows.
PENALISED_AS = {"binomial": "bernoulli"}


@dataclass(frozen=True)
class Convention:
    """One framework's penalised objective, least squares or a GLM (the module's formula).

    Attributes
    ----------
    name, framework, objective, bias : str
        The key in :data:`ALL_CONVENTIONS`, the call, the objective it minimises, and whether
        it penalises the intercept by default (and how to stop it).
    data_weight : callable (n, sigma) -> float
        :math:`D`, the factor in front of :math:`\\sum \\ell_i` (``sigma`` None for a GLM).
    l1_weight, l2_weight, mixes : float or None, float or None, bool
        :math:`c_1`, :math:`c_2` per unit strength (``None``: no such penalty); whether one
        strength with an ``l1_ratio`` sets both (elastic net).
    likelihood, inverse, natural : str, bool, str or None
        The data term (``"gaussian"``: squared error, needs ``sigma``; ``"bernoulli"``;
        ``"poisson"``, log link; ``"gamma"``, log link, the unit deviance, needs ``sigma``);
        whether the framework states an inverse strength ``C``
        (:math:`\\lambda = 1/C`); the family of a bare strength if not the first one.
    l2_alone : bool
        Whether an L2 penalty alone (:math:`\\rho = 0`) is this objective too (statsmodels
        takes another path for the gamma's: no Gaussian family then).
    """

    name: str
    objective: str
    data_weight: Callable[[int, float | None], float]
    l1_weight: float | None
    l2_weight: float | None
    mixes: bool
    bias: str
    framework: str
    likelihood: str = "gaussian"
    inverse: bool = False
    natural: str | None = None
    l2_alone: bool = True

    @property
    def families(self) -> tuple[str, ...]:
        """Prior families this convention can express."""
        has = (self.l2_weight is not None and self.l2_alone, self.l1_weight is not None, self.mixes)
        return tuple(family for family, ok in zip(FAMILIES, has, strict=True) if ok)

    @property
    def default_family(self) -> str:
        """The family a bare strength refers to: :attr:`natural` (statsmodels' ``L1_wt``
        defaults to 1: lasso), else the first of :attr:`families`."""
        return self.natural or self.families[0]


def _sum(n, sigma):
    return 1.0


def _half_mean(n, sigma):
    return 1.0 / (2.0 * n)


def _mean(n, sigma):
    return 1.0 / n


def _nlp(n, sigma):
    return 1.0 / (2.0 * sigma**2)


_UNPENALISED = "fit_intercept=True leaves the intercept unpenalised"
_DECAYS_ALL = (
    "decays every parameter in the group, biases included: put the bias in a parameter group"
    " with weight_decay=0"
)
_KERAS_BIAS = "kernel_regularizer leaves the bias alone (bias_regularizer defaults to None)"

# The table, laid out by hand: one block per convention, its constants on one line.
_CONVENTION_LIST = [
    # --- least squares (Gaussian likelihood, noise scale sigma) ----------------------------
    Convention(
        name="neg-log-posterior",
        framework="the Bayesian model itself",
        objective="sum r^2 / (2 sigma^2) + strength * (rho ||w||_1 + (1-rho) ||w||^2 / 2);"
        " strength = 1/g^2 (Gaussian precision) or 1/l (Laplace rate)",
        data_weight=_nlp,
        l1_weight=1.0,
        l2_weight=0.5,
        mixes=True,
        bias="the intercept has its own flat or wide prior, never this penalty",
    ),
    Convention(
        name="sklearn-ridge",
        framework="sklearn.linear_model.Ridge(alpha)",
        objective="||y - Xw - b||^2 + alpha ||w||^2",
        data_weight=_sum,
        l1_weight=None,
        l2_weight=1.0,
        mixes=False,
        bias=_UNPENALISED,
    ),
    Convention(
        name="sklearn-lasso",
        framework="sklearn.linear_model.Lasso(alpha)",
        objective="(1 / 2n) ||y - Xw - b||^2 + alpha ||w||_1",
        data_weight=_half_mean,
        l1_weight=1.0,
        l2_weight=None,
        mixes=False,
        bias=_UNPENALISED,
    ),
    Convention(
        name="sklearn-elasticnet",
        framework="sklearn.linear_model.ElasticNet(alpha, l1_ratio)",
        objective="(1 / 2n) ||y - Xw - b||^2 + alpha rho ||w||_1 + alpha (1 - rho) / 2 ||w||^2",
        data_weight=_half_mean,
        l1_weight=1.0,
        l2_weight=0.5,
        mixes=True,
        bias=_UNPENALISED,
        natural="elastic-net",
    ),
    Convention(
        name="sklearn-sgd",
        framework="sklearn.linear_model.SGDRegressor(alpha, penalty, l1_ratio)",
        objective="mean(r^2 / 2) + alpha R(w), R = ||w||^2 / 2 (l2), ||w||_1 (l1),"
        " rho ||w||_1 + (1 - rho) ||w||^2 / 2 (elasticnet)",
        data_weight=_half_mean,
        l1_weight=1.0,
        l2_weight=0.5,
        mixes=True,
        bias="the intercept is never penalised",
    ),
    Convention(
        name="torch-sgd",
        framework="torch.optim.SGD(weight_decay=wd) on nn.MSELoss()",
        objective="mean(r^2) + (wd / 2) ||w||^2   (gradient wd * w added to every parameter)",
        data_weight=_mean,
        l1_weight=None,
        l2_weight=0.5,
        mixes=False,
        bias=_DECAYS_ALL,
    ),
    Convention(
        name="d2l",
        framework="d2l.ai weight-decay chapter, from-scratch code",
        objective="mean(r^2 / 2) + (lambd / 2) ||w||^2",
        data_weight=_half_mean,
        l1_weight=None,
        l2_weight=0.5,
        mixes=False,
        bias="only w is penalised; the bias is not",
    ),
    Convention(
        name="keras",
        framework="Keras MSE loss + kernel_regularizer=L2(l2) or L1(l1)",
        objective="mean(r^2) + l2 sum(w^2)   or   mean(r^2) + l1 sum(|w|)",
        data_weight=_mean,
        l1_weight=1.0,
        l2_weight=1.0,
        mixes=False,
        bias=_KERAS_BIAS,
    ),
    Convention(
        name="optax",
        framework="optax.chain(optax.add_decayed_weights(wd), optax.sgd(lr)) on optax.l2_loss",
        objective="mean(r^2 / 2) + (wd / 2) ||w||^2   (gradient wd * w added)",
        data_weight=_half_mean,
        l1_weight=None,
        l2_weight=0.5,
        mixes=False,
        bias="decays every leaf unless add_decayed_weights is given a mask excluding the bias",
    ),
    # --- GLMs: a sum or mean of negative log-likelihoods (NLL), no sigma --------------------
    Convention(
        name="sklearn-logistic",
        likelihood="bernoulli",
        inverse=True,
        framework="sklearn.linear_model.LogisticRegression(C, l1_ratio), y in {0, 1}; before"
        " 1.8 also penalty='l2' (l1_ratio=0), 'l1' (l1_ratio=1), 'elasticnet' (0 < rho < 1)",
        objective="C sum(log-loss) + rho ||w||_1 + (1 - rho) ||w||^2 / 2;  C is an INVERSE"
        " strength: strength = C, lambda = 1/C, so the L2 prior is w ~ N(0, C)",
        data_weight=_sum,
        l1_weight=1.0,
        l2_weight=0.5,
        mixes=True,
        bias="solvers lbfgs, newton-cg, newton-cholesky, sag and saga leave the intercept"
        " unpenalised; liblinear penalises it (as a feature of value intercept_scaling)",
    ),
    Convention(
        name="sklearn-poisson",
        likelihood="poisson",
        framework="sklearn PoissonRegressor(alpha), TweedieRegressor(power=1, link='log', alpha)",
        objective="(1 / 2n) sum(deviance) + (alpha / 2) ||w||^2 = mean(NLL) + (alpha / 2)"
        " ||w||^2 + const (half the deviance is the NLL less terms constant in w)",
        data_weight=_mean,
        l1_weight=None,
        l2_weight=0.5,
        mixes=False,
        bias=_UNPENALISED,
    ),
    Convention(
        name="sklearn-gamma",
        likelihood="gamma",
        framework="sklearn GammaRegressor(alpha), TweedieRegressor(power=2, link='log', alpha)",
        objective="(1 / 2n) sum(deviance) + (alpha / 2) ||w||^2, deviance = 2 (y / mu - log(y /"
        " mu) - 1) = 2 sigma^2 NLL + const (sigma the coefficient of variation, 1 / sqrt(shape))",
        data_weight=_half_mean,
        l1_weight=None,
        l2_weight=0.5,
        mixes=False,
        bias=_UNPENALISED,
    ),
    *(
        Convention(
            name=f"statsmodels-{family.lower()}",
            likelihood=likelihood,
            natural="laplace",
            framework=f"statsmodels GLM(y, X, family={family}()).fit_regularized(alpha, L1_wt=rho)",
            objective="-loglike / n + alpha (rho ||w||_1 + (1 - rho) ||w||^2 / 2), L1_wt=1 unless"
            f" given (the discrete {discrete}.fit_regularized is sum -loglike + alpha ||w||_1)",
            data_weight=_mean,
            l1_weight=1.0,
            l2_weight=0.5,
            mixes=True,
            bias="penalises every column of X when alpha is a number, the constant of add_constant"
            " too: give alpha as a vector with 0 for the constant to leave it free",
        )
        for family, likelihood, discrete in (
            ("Binomial", "bernoulli", "Logit"),
            ("Poisson", "poisson", "Poisson"),
        )
    ),
    Convention(
        name="statsmodels-gamma",
        likelihood="gamma",
        natural="laplace",
        framework="statsmodels GLM(y, X, family=Gamma(link=Log())).fit_regularized(alpha,"
        " L1_wt=rho), 0 < rho <= 1",
        objective="-loglike / n + alpha (rho ||w||_1 + (1 - rho) ||w||^2 / 2), the loglike at"
        " scale 1: (1 / 2n) sum(deviance) + const; L1_wt=1 unless given. L1_wt=0 is refused:"
        " statsmodels' ridge path divides the loglike by the scale it estimates at each step",
        data_weight=_half_mean,
        l1_weight=1.0,
        l2_weight=0.5,
        mixes=True,
        l2_alone=False,
        bias="penalises every column of X when alpha is a number, the constant of add_constant"
        " too: give alpha as a vector with 0 for the constant to leave it free",
    ),
    Convention(
        name="torch-bce",
        likelihood="bernoulli",
        framework="torch.optim.SGD(weight_decay=wd) on nn.BCEWithLogitsLoss()",
        objective="mean(log-loss) + (wd / 2) ||w||^2   (gradient wd * w added)",
        data_weight=_mean,
        l1_weight=None,
        l2_weight=0.5,
        mixes=False,
        bias=_DECAYS_ALL,
    ),
    Convention(
        name="torch-poisson",
        likelihood="poisson",
        framework="torch.optim.SGD(weight_decay=wd) on nn.PoissonNLLLoss(log_input=True)",
        objective="mean(exp(eta) - y eta) + (wd / 2) ||w||^2 = mean(NLL) + (wd / 2) ||w||^2"
        " + const (full=False drops log y!; full=True adds Stirling's approximation of it)",
        data_weight=_mean,
        l1_weight=None,
        l2_weight=0.5,
        mixes=False,
        bias=_DECAYS_ALL,
    ),
    Convention(
        name="keras-bce",
        likelihood="bernoulli",
        framework="Keras binary_crossentropy + kernel_regularizer=L2(l2) or L1(l1)",
        objective="mean(log-loss) + l2 sum(w^2)   or   + l1 sum(|w|); with a sigmoid output,"
        " not from_logits=True, p is clipped to [eps, 1 - eps], eps = 1e-7",
        data_weight=_mean,
        l1_weight=1.0,
        l2_weight=1.0,
        mixes=False,
        bias=_KERAS_BIAS,
    ),
    Convention(
        name="keras-poisson",
        likelihood="poisson",
        framework="Keras losses.Poisson on an exp output mu + kernel_regularizer=L2(l2) or L1(l1)",
        objective="mean(mu - y log(mu + eps)) + l2 sum(w^2)   or   + l1 sum(|w|): mean(NLL)"
        " + const, up to eps = keras.config.epsilon() = 1e-7 (a relative change eps / mu)",
        data_weight=_mean,
        l1_weight=1.0,
        l2_weight=1.0,
        mixes=False,
        bias=_KERAS_BIAS,
    ),
]

#: Every named convention, by name: the one table all conversions use.
ALL_CONVENTIONS: dict[str, Convention] = {c.name: c for c in _CONVENTION_LIST}
#: The least-squares conventions (Gaussian likelihood), the ones the linear model uses.
CONVENTIONS: dict[str, Convention] = {
    c.name: c for c in _CONVENTION_LIST if c.likelihood == "gaussian"
}
