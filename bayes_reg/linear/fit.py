"""A table in, a posterior and predictions out: the linear model (and its GLMs) through a formula.

>>> import numpy as np, pandas as pd
>>> from bayes_reg import Gaussian, fit
>>> rng = np.random.default_rng(0)
>>> frame = pd.DataFrame({"dose": rng.uniform(1, 5, 60), "sex": rng.choice(["F", "M"], 60)})
>>> frame["y"] = 2.0 * frame.dose + (frame.sex == "M") + rng.normal(0, 0.5, 60)
>>> model = fit("y ~ dose + C(sex)", frame, prior=Gaussian(10.0), sigma=0.5, progress=False)
>>> list(model.coefficients().index)
['Intercept', 'dose', 'C(sex)[T.M]']
>>> model.predict(pd.DataFrame({"dose": [2.0], "sex": ["M"]})).columns.tolist()
['mean', 'sd', 'lower', 'upper']
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import numpy as np
import xarray as xr

from bayes_reg import _validate
from bayes_reg.design import Design, design_matrix
from bayes_reg.inference.diagnostics import diagnose
from bayes_reg.inference.result import Posterior
from bayes_reg.inference.sampler import Sampler
from bayes_reg.linear.names import WITH_EXPOSURE, WITH_TRIALS
from bayes_reg.linear.posterior import EXACT_DRAWS, sample_posterior
from bayes_reg.linear.predict import predict, score

__all__ = ["Fit", "fit", "original_units", "attach_design"]


@dataclass(frozen=True)
class Fit:
    """A posterior fitted through a :class:`~bayes_reg.design.Design`: predictions and
    coefficients speak of the table's columns, in their original units."""

    posterior: Posterior
    design: Design
    dropped: list

    @property
    def tree(self):
        """The ArviZ DataTree: ``posterior`` on the design's columns (standardised where
        asked), ``original_units`` beside it when they were, the design in its attributes."""
        return self.posterior.tree

    def __repr__(self) -> str:
        # Short: the design's own repr holds every category and transform state.
        posterior = self.tree["posterior"]
        kind = "exact draws" if self.posterior.exact else "draws"
        return (
            f"Fit({self.design.target} ~ {self.design.formula}, "
            f"{self.tree.attrs.get('likelihood', 'gaussian')}, {posterior.sizes['chain']} chains "
            f"x {posterior.sizes['draw']} {kind}, {len(self.design.features)} features)"
        )

    @classmethod
    def from_tree(cls, tree) -> Fit:
        """The fit whose :attr:`tree` was saved and read back, e.g.
        ``fit.tree.to_netcdf(path, engine="h5netcdf")`` and then
        ``xarray.open_datatree(path, engine="h5netcdf")``: the design comes back from the
        tree's attributes, so :meth:`predict`, :meth:`score` and :meth:`coefficients` answer
        as before. The tree does not keep which rows were dropped (``dropped`` is empty)."""
        if "design" not in tree.attrs:
            raise ValueError("the tree holds no design: give the tree of a fit (bayes_reg.fit)")
        exact = tree.attrs.get("sampler") == EXACT_DRAWS
        posterior = Posterior(tree, lambda: diagnose(tree), float("nan"), exact)
        return cls(posterior, Design.from_json(tree.attrs["design"]), [])

    def predictive(self, frame, *, coverage: float = 0.9, seed: int | jax.Array = 0) -> xr.Dataset:
        """:func:`~bayes_reg.linear.predict.predict` at the rows of ``frame``, with every draw."""
        X = self.design.matrix(frame)
        return predict(
            self.tree,
            X,
            offset=self.design.offset(frame),
            trials=self.design.number_of_trials(frame),
            coverage=coverage,
            seed=seed,
        )

    def predict(self, frame, *, coverage: float = 0.9, seed: int | jax.Array = 0):
        """One row per row of ``frame``: ``mean``, ``sd``, ``lower``, ``upper`` of the
        posterior predictive (and ``probability`` of class 1 for a Bernoulli model, of success
        for a binomial one), indexed by the design's id column if it has one, else by
        ``frame``'s index."""
        return prediction_table(
            self.predictive(frame, coverage=coverage, seed=seed), frame, self.design
        )

    def score(self, frame, *, coverage: float = 0.9, seed: int | jax.Array = 0) -> dict:
        """:func:`~bayes_reg.linear.predict.score` of the rows of ``frame`` (with the target)."""
        target = self.design.response(frame)
        return score(self.predictive(frame, coverage=coverage, seed=seed), target)

    def coefficients(self, *, coverage: float = 0.9):
        """Per coefficient, in the original units: posterior ``mean``, ``sd`` and the central
        ``coverage`` interval (``lower``, ``upper``); and a last row ``sigma`` where the model
        samples it (the noise scale in the units of ``y``, or the negative binomial's
        overdispersion)."""
        import pandas as pd

        coverage = _validate.fraction("coverage", coverage, low_open=True, high_open=True)
        group = (
            self.tree["original_units"] if "original_units" in self.tree else self.tree["posterior"]
        )
        names, draws = [], []
        if "b" in group:
            names.append("Intercept")
            draws.append(group["b"].values.reshape(-1))
        w = group["w"].values.reshape(-1, group.sizes["feature"])
        names += [str(f) for f in group["feature"].values]
        draws += list(w.T)
        if "sigma" in self.tree["posterior"]:  # y is not standardised: the same in both groups
            names.append("sigma")
            draws.append(self.tree["posterior"]["sigma"].values.reshape(-1))
        draws = np.asarray(draws)
        q = (1 - coverage) / 2
        return pd.DataFrame(
            {
                "mean": draws.mean(1),
                "sd": draws.std(1),
                "lower": np.quantile(draws, q, axis=1),
                "upper": np.quantile(draws, 1 - q, axis=1),
            },
            index=pd.Index(names, name="term"),
        )


def fit(
    formula: str,
    data,
    *,
    prior,
    sigma=None,
    likelihood: str = "gaussian",
    standardize: bool = False,
    missing: str = "refuse",
    exposure: str | None = None,
    id: str | None = None,
    sample_weight: str | None = None,
    trials: str | None = None,
    method: str = "auto",
    sampler: Sampler | None = None,
    seed: int | jax.Array = 0,
    progress: bool = True,
    **model_kwargs,
) -> Fit:
    """The posterior of the linear model (or GLM) that ``formula`` writes on the table ``data``.

    Parameters
    ----------
    formula : str
        ``"y ~ age + bmi + C(sex)"``, formulaic's syntax (see
        :func:`~bayes_reg.design.design_matrix`); ``- 1`` removes the intercept.
    data : pandas.DataFrame
    prior, sigma, likelihood, method, sampler, seed, progress, **model_kwargs
        As in :func:`~bayes_reg.linear.posterior.sample_posterior`.
    standardize : bool
        Put the prior on standardised columns (each column's training mean and sd, weighted
        by ``sample_weight`` where given); the coefficients come back in the original units
        in the group ``original_units`` and in :meth:`Fit.coefficients`, and new rows are
        standardised the same way.
    missing : {"refuse", "drop"}
        A missing value in a column the model reads is refused with its row and column, or
        its row is dropped (``Fit.dropped`` lists them).
    exposure : str, optional
        A column of exposures (time, area, population; claims for a total cost): the mean is
        the exposure times ``exp(Xw + b)``, the offset its log. For the log-link likelihoods
        (Poisson, negative binomial, gamma); new rows need it too.
    id : str, optional
        A column naming the rows; it indexes :meth:`Fit.predict`'s table.
    sample_weight : str, optional
        A column of weights >= 0, each multiplying its row's log likelihood (a weight of 2
        counts a row twice); kept in the tree's ``constant_data``.
    trials : str, optional
        A column of numbers of trials, of which the target counts the successes; for the
        binomial and beta-binomial likelihoods only, where it is needed. New rows need it too.

    Returns
    -------
    Fit
    """
    if exposure is not None and likelihood not in WITH_EXPOSURE:
        raise ValueError(
            f"an exposure ({exposure!r}) multiplies the mean of a log-link model (a rate of "
            f"counts, a gamma's mean), and the likelihood is {likelihood!r}; leave exposure out, "
            "or set likelihood='poisson', 'negative-binomial' or 'gamma'"
        )
    if (trials is not None) != (likelihood in WITH_TRIALS):
        raise ValueError(
            "the binomial and beta-binomial likelihoods read a column of trials, and only they: "
            "give likelihood='binomial' (or 'beta-binomial') and trials='n' (the column of each "
            "row's trials) together"
        )
    if sample_weight is not None and not isinstance(sample_weight, str):
        raise TypeError(
            "sample_weight names a column of the table (rows dropped for missing values lose "
            "their weights with them): add the weights as one, data.assign(w=weights), and give "
            "sample_weight='w'"
        )
    table = design_matrix(
        data,
        formula,
        standardize=standardize,
        missing=missing,
        exposure=exposure,
        id=id,
        sample_weight=sample_weight,
        trials=trials,
    )
    design = table.design
    if not design.intercept:
        if model_kwargs.get("intercept", False) is not False:
            raise ValueError(f"formula {formula!r} removes the intercept, and intercept= gives one")
        model_kwargs["intercept"] = False
    if table.offset is not None:
        model_kwargs["offset"] = table.offset
    if table.sample_weight is not None:
        model_kwargs["sample_weight"] = table.sample_weight
    if table.trials is not None:
        model_kwargs["trials"] = table.trials
    post = sample_posterior(
        table.X,
        table.y,
        prior=prior,
        sigma=sigma,
        likelihood=likelihood,
        method=method,
        sampler=sampler,
        seed=seed,
        feature_names=list(design.features),
        progress=progress,
        **model_kwargs,
    )
    attach_design(post.tree, design)
    return Fit(post, design, table.dropped)


def attach_design(tree, design: Design) -> None:
    """Keep ``design`` with the tree (an attribute, so ``posterior.nc`` can rebuild it) and,
    where the columns were standardised, the coefficients in the original units beside it."""
    tree.attrs["design"] = design.to_json()
    if design.standardized:
        tree["original_units"] = original_units(tree["posterior"].to_dataset(), design)


def original_units(posterior: xr.Dataset, design: Design) -> xr.Dataset:
    """The draws of ``w`` (and ``b``) per unit of the original columns."""
    w = posterior["w"].values
    b = posterior["b"].values if "b" in posterior else None
    w_raw, b_raw = design.original_units(w, b)
    out = xr.Dataset({"w": (posterior["w"].dims, w_raw)}, coords=posterior["w"].coords)
    if b_raw is not None:
        out["b"] = (posterior["b"].dims, b_raw)
    out.attrs["description"] = "the posterior's coefficients per unit of the original columns"
    return out


def prediction_table(prediction: xr.Dataset, frame, design: Design):
    """:func:`predict`'s per-row summary as a table: ``mean``, ``sd``, ``lower``, ``upper``
    (and ``probability``), indexed by the id column or by ``frame``'s index."""
    import pandas as pd

    columns = ["mean", "sd", "lower", "upper"] + (
        ["probability"] if "probability" in prediction else []
    )
    named = design.id is not None and design.id in frame.columns
    index = pd.Index(frame[design.id], name=design.id) if named else frame.index
    return pd.DataFrame({c: prediction[c].values for c in columns}, index=index)
