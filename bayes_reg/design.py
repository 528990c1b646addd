"""From a table to a design matrix, and the same for new rows: formulas (formulaic), categorical
encoding, missing values, standardisation, and the recipe saved with a result.

:func:`design_matrix` reads a pandas DataFrame through a Wilkinson formula such as
``"y ~ age + bmi + C(sex) + np.log(dose)"`` (no formula: the target against every other
column, text columns as categories) and returns the matrices with a :class:`Design`: the
recipe that turns new rows into the same columns (:meth:`Design.matrix`), that maps
coefficients fitted on standardised columns back to the original units
(:meth:`Design.original_units`), and that is saved as JSON with a result
(:meth:`Design.to_json`) so ``bayes-reg predict`` can rebuild it.

>>> import pandas as pd
>>> frame = pd.DataFrame({"y": [1.0, 2.0, 4.0, 3.0], "dose": [1.0, 2.0, 3.0, 4.0],
...                       "sex": ["F", "M", "M", "F"]})
>>> table = design_matrix(frame, "y ~ dose + C(sex)")
>>> table.design.features
('dose', 'C(sex)[T.M]')
>>> table.design.matrix(pd.DataFrame({"dose": [2.5], "sex": ["M"]})).tolist()
[[2.5, 1.0]]
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field

import numpy as np

from bayes_reg import _validate
from bayes_reg.data import Scaling
from bayes_reg.design_checks import (
    changed_kinds,
    columns_read,
    plain,
    quoted,
    refuse_absent,
    refuse_duplicates,
    refuse_missing,
    refuse_names_not_text,
    refuse_not_a_table,
    refuse_not_finite,
    refuse_numbers_in_text,
    refuse_overlaps,
    refuse_target_not_one_number,
    refuse_uninformative,
    refuse_unreadable_kinds,
    refuse_unused_levels,
    row_weights,
    undefined_refused_later,
)
from bayes_reg.formulas import parse_formula

__all__ = ["Design", "DesignTable", "design_matrix", "MISSING"]

#: What :func:`design_matrix` does with a row that has a missing value in a column it uses.
MISSING = ("refuse", "drop")


@dataclass(frozen=True)
class Design:
    """How a table becomes the model's columns; rebuilt exactly from :meth:`to_json`.

    ``features`` are the columns of the design matrix (formulaic's names, e.g.
    ``C(sex)[T.M]``), without the intercept: ``intercept`` says whether the formula keeps one
    (``- 1`` or ``0 +`` removes it). ``x_mean``/``x_sd`` are set when the columns were
    standardised (the training rows' mean and population sd, weighted by their sample weights).
    """

    formula: str
    features: tuple[str, ...]
    intercept: bool = True
    target: str | None = None
    exposure: str | None = None
    id: str | None = None
    trials: str | None = None
    x_mean: tuple[float, ...] | None = None
    x_sd: tuple[float, ...] | None = None
    categories: dict = field(default_factory=dict)  # factor -> its levels, in order
    transform_state: dict = field(default_factory=dict)  # formulaic's (center(x), poly(x), ...)

    @property
    def variables(self) -> list[str]:
        """The input columns that new rows must have (the exposure's and the trials' included)."""
        given = [c for c in (self.exposure, self.trials) if c is not None]
        return sorted(columns_read(self.formula)) + given

    @property
    def target_variables(self) -> list[str]:
        """The input columns the target is computed from (``y`` of ``np.log(y)``)."""
        return sorted(columns_read(self.target))

    @property
    def standardized(self) -> bool:
        return self.x_sd is not None

    def matrix(self, frame) -> np.ndarray:
        """New rows as the fitted design's columns (standardised as the training rows were).

        Refuses a missing column, a missing value, a category the fit never saw and a column
        of another kind than the fit's (text where it read numbers), naming them.
        """
        refuse_not_a_table(frame, "the new rows")
        variables = self.variables  # parsed from the formula on each access
        absent = [v for v in variables if v not in frame.columns]
        if absent:
            raise ValueError(
                f"the new rows lack column(s) {', '.join(map(repr, absent))} of the fitted design "
                f"({self._spelled()}); they have {', '.join(map(repr, frame.columns))}"
            )
        refuse_duplicates(frame, variables)
        refuse_missing(frame, variables)
        frame = _text_as_object(frame, variables)
        X = _materialize(self._spec(), frame, self.features, self.categories)
        refuse_not_finite(frame.index, self.features, X)
        if self.standardized:
            X = (X - np.asarray(self.x_mean)) / np.asarray(self.x_sd)
        return X

    def response(self, frame) -> np.ndarray:
        """The target of ``frame``'s rows (the formula's left side, e.g. ``np.log(y)``): one
        number per row, refused otherwise (absent, text, missing, undefined)."""
        from formulaic import model_matrix
        from formulaic.errors import FactorEvaluationError

        refuse_not_a_table(frame, "the rows")
        variables = self.target_variables
        absent = [v for v in variables if v not in frame.columns]
        if absent:
            raise ValueError(
                f"the rows lack the target's column(s) {', '.join(map(repr, absent))}; a score "
                "compares the predictions with it"
            )
        refuse_duplicates(frame, variables)
        frame = _text_as_object(frame, variables)
        with undefined_refused_later():
            try:
                lhs = model_matrix(f"{self.target} ~ 1", frame, na_action="ignore").lhs
            except FactorEvaluationError as err:
                raise ValueError(f"the rows' target cannot be read: {err}") from None
        refuse_target_not_one_number(self._spelled(), lhs)
        y = lhs.to_numpy(float)
        refuse_not_finite(frame.index, (self.target,), y)
        return y[:, 0]

    def offset(self, frame) -> np.ndarray | None:
        """The log exposure of ``frame``'s rows, if the design has an exposure column."""
        if self.exposure is None:
            return None
        exposure = frame[self.exposure].to_numpy(float)
        if not np.all(exposure > 0):
            raise ValueError(f"column {self.exposure!r} (the exposure) has a value <= 0")
        return np.log(exposure)

    def number_of_trials(self, frame) -> np.ndarray | None:
        """The trials (binomial, beta-binomial) of ``frame``'s rows, if the design has a trials
        column; all 0 is refused where the rows are fitted, not here (new rows may be)."""
        if self.trials is None:
            return None
        try:
            return _validate.trials(frame[self.trials].to_numpy(float), len(frame), fitted=False)
        except ValueError as err:
            raise ValueError(f"column {self.trials!r} (the trials): {err}") from None

    def original_units(self, w: np.ndarray, b=None):
        """Coefficients on standardised columns as coefficients per unit of the original ones:
        ``w_j / sd_j`` and ``b - sum_j w_j mean_j / sd_j`` (draws along the last axis of ``w``)."""
        if not self.standardized:
            return w, b
        w_raw = np.asarray(w) / np.asarray(self.x_sd)
        if b is None:
            return w_raw, None
        return w_raw, np.asarray(b) - w_raw @ np.asarray(self.x_mean)

    def to_json(self) -> str:
        return json.dumps(_tagged(self.__dict__))

    @classmethod
    def from_json(cls, text: str) -> Design:
        raw = _untagged(json.loads(text))
        for key in ("features", "x_mean", "x_sd"):
            if raw.get(key) is not None:
                raw[key] = tuple(raw[key])
        return cls(**raw)

    def _spec(self):
        from formulaic import ModelSpec
        from formulaic.parser.types import Factor

        encoders = {
            factor: (Factor.Kind.CATEGORICAL, {"categories": list(levels)})
            for factor, levels in self.categories.items()
        }
        return ModelSpec(
            formula=self.formula, transform_state=self.transform_state, encoder_state=encoders
        )

    def _spelled(self) -> str:
        lhs = f"{self.target} ~ " if self.target else "~ "
        return lhs + self.formula


@dataclass(frozen=True)
class DesignTable:
    """A table read through a :class:`Design`: ``X``, ``y``, the offset (log exposure), the
    rows' ids, the index labels of rows dropped for missing values, the sample weights and the
    trials (binomial, beta-binomial)."""

    design: Design
    X: np.ndarray
    y: np.ndarray | None
    offset: np.ndarray | None
    ids: np.ndarray | None
    dropped: list
    sample_weight: np.ndarray | None = None
    trials: np.ndarray | None = None


def design_matrix(
    frame,
    formula: str | None = None,
    *,
    target: str | None = None,
    standardize: bool = False,
    missing: str = "refuse",
    exposure: str | None = None,
    id: str | None = None,
    sample_weight: str | None = None,
    trials: str | None = None,
) -> DesignTable:
    """Read ``frame`` through ``formula`` into the model's matrices and their :class:`Design`.

    Parameters
    ----------
    frame : pandas.DataFrame
    formula : str, optional
        ``"y ~ age + bmi + C(sex)"``: categories (``C(x)``, and text or boolean columns as they
        are), interactions (``a:b``, ``a*b``), transforms (``np.log(x)``, ``center(x)``,
        ``poly(x, degree=2)``), ``- 1`` for no intercept, ``.`` for every column the left
        side does not read (but the ``exposure``, ``id``, ``sample_weight`` and ``trials``
        columns): ``"y ~ . - age"``. Default: ``target ~ .``. The target is one number per
        row: a binary outcome is a 0/1 or boolean column, or a comparison (``I(sex == "M") ~
        ...``). Refused: a constant column, or a category with one level, where the formula
        has an intercept (which covers it); a column in two roles (the target's one column
        also a feature, the id or the weights in the formula, the exposure or trials as the
        target); a column name the table holds twice; a column named by a number, or named
        "1" (formulaic's intercept, even in backticks); a column of text that holds numbers
        too, unless read as ``C(x)``; dates, durations or complex numbers read as they are; a
        category level that no row holds.
    target : str, optional
        The target column when no formula is given (a formula names it on its left).
    standardize : bool
        Centre each column of the design matrix and scale it to unit sd (the training rows',
        weighted by ``sample_weight`` where given: the rows repeated), so a prior's scale
        means the same for every column; coefficients go back to the original units with
        :meth:`Design.original_units`.
    missing : {"refuse", "drop"}
        A missing value in a column the model reads: refused with its row and column, or
        the row dropped (listed in ``dropped``).
    exposure : str, optional
        A column of positive exposures (a Poisson rate's time, area, population); the offset
        is its log.
    id : str, optional
        A column naming the rows, carried to predictions and not used as a feature.
    sample_weight : str, optional
        A column of weights >= 0, each multiplying its row's log likelihood (``sample_weight``
        of :func:`~bayes_reg.linear.regression.linear_regression`); not a feature.
    trials : str, optional
        A column of each row's number of trials (binomial, beta-binomial; whole numbers >= 0),
        of which the target counts the successes; new rows need it too.
    """
    from formulaic import model_matrix
    from formulaic.errors import FactorEvaluationError

    refuse_not_a_table(frame)
    if len(frame) == 0:
        raise ValueError("the table has no rows")
    if missing not in MISSING:
        raise ValueError(f"missing must be one of {MISSING}, got {missing!r}")
    roles = (exposure, id, sample_weight, trials)
    for name, column in zip(("exposure", "id", "sample_weight", "trials"), roles, strict=True):
        if column is not None and column not in frame.columns:
            raise ValueError(f"{name} column {column!r} is not in the table: {list(frame.columns)}")
    if formula is None:
        if target is None:
            raise ValueError("give a formula ('y ~ a + b') or the target column")
        refuse_names_not_text([target])
        formula = f"{quoted(target)} ~ ."
    written = formula
    formula, parsed, target, read = parse_formula(formula, frame.columns, roles)
    if not target:
        raise ValueError(f"formula {written!r} needs a target on its left: 'y ~ ...'")
    refuse_overlaps(formula, target, read, exposure, id, sample_weight, trials)
    given = (exposure, sample_weight, trials)
    used = sorted(target | read) + [c for c in given if c is not None]
    refuse_absent(formula, parsed, frame, used)
    refuse_duplicates(frame, used)
    rows = frame[frame[used].notna().all(axis=1)] if missing == "drop" else frame
    if len(rows) == 0:
        raise ValueError("no rows left after dropping those with missing values")
    refuse_missing(rows, used)
    refuse_numbers_in_text(parsed, rows)
    refuse_unreadable_kinds(parsed, rows)
    refuse_unused_levels(rows, used)
    rows = _text_as_object(rows, used)
    dropped = [i.item() if hasattr(i, "item") else i for i in frame.index.difference(rows.index)]
    with undefined_refused_later():
        try:
            matrices = model_matrix(formula, rows, na_action="ignore")
        except FactorEvaluationError as err:  # a term's Python fails on the rows: np.logit(x)
            raise ValueError(f"formula {written!r} cannot be evaluated: {err}") from None
    refuse_target_not_one_number(formula, matrices.lhs)
    spec = matrices.rhs.model_spec
    columns = list(matrices.rhs.columns)
    intercept = "Intercept" in columns
    features = tuple(c for c in columns if c != "Intercept")
    if not features:
        raise ValueError(f"formula {formula!r} has no feature on its right")
    X = matrices.rhs[list(features)].to_numpy(float)
    y = matrices.lhs.to_numpy(float)[:, 0]
    refuse_not_finite(rows.index, (matrices.lhs.columns[0], *features), np.column_stack([y, X]))
    refuse_uninformative(features, X, spec.encoder_state, intercept)
    weights = None if sample_weight is None else row_weights(rows, sample_weight)
    scaling = Scaling.fit(X, weights=weights) if standardize else None
    design = Design(
        # The right side as written: formulaic's own spelling drops the backticks that quote
        # a column name such as `mean radius`, and would not parse again.
        formula=formula.split("~", 1)[1].strip(),
        features=features,
        intercept=intercept,
        target=matrices.lhs.columns[0],
        exposure=exposure,
        id=id,
        trials=trials,
        x_mean=None if scaling is None else tuple(map(float, scaling.x_mean)),
        x_sd=None if scaling is None else tuple(map(float, scaling.x_sd)),
        categories={
            factor: [plain(v) for v in state["categories"]]
            for factor, (_, state) in spec.encoder_state.items()
            if "categories" in state
        },
        transform_state=spec.transform_state,
    )
    return DesignTable(
        design=design,
        X=X if scaling is None else scaling.x(X),
        y=y,
        offset=design.offset(rows),
        ids=None if id is None else rows[id].to_numpy(),
        dropped=dropped,
        sample_weight=weights,
        trials=design.number_of_trials(rows),
    )


def _text_as_object(frame, columns):
    """``frame`` with its columns of pandas' ``"string"`` dtype (missing as ``pd.NA``) among
    ``columns`` as plain text, which formulaic reads as categories: it passes that dtype
    through as if it held numbers (formulaic 1.2.2)."""
    import pandas as pd

    masked = [
        c
        for c in columns
        if isinstance(frame[c].dtype, pd.StringDtype) and frame[c].dtype.na_value is pd.NA
    ]
    return frame.astype(dict.fromkeys(masked, object)) if masked else frame


def _materialize(spec, frame, features, categories) -> np.ndarray:
    """``frame`` through ``spec``; a category the fit never saw is an error, not a NaN."""
    from formulaic.errors import FactorEvaluationError
    from formulaic.transforms.contrasts import DataMismatchWarning

    with warnings.catch_warnings(), undefined_refused_later():
        warnings.simplefilter("error", DataMismatchWarning)
        try:
            matrix = spec.get_model_matrix(frame)
        except DataMismatchWarning as err:
            unseen = str(err).split(":", 1)[1].split(". They")[0].strip()
            unseen = re.sub(r"np\.\w+\((.*?)\)", r"\1", unseen)  # {np.int64(3)} -> {3}
            raise ValueError(
                f"the new rows have a category the fit never saw: {unseen}; the fitted "
                f"categories are {categories}"
            ) from None
        except FactorEvaluationError as err:
            raise ValueError(f"the new rows do not fit the design: {err}") from None
    columns = [c for c in matrix.columns if c != "Intercept"]
    if tuple(columns) != tuple(features):
        why = changed_kinds(frame, sorted(columns_read(spec.formula)), categories)
        raise ValueError(
            f"the new rows give columns {columns}, the fitted design has {features}"
            + "".join(f"; {reason}" for reason in why)
        )
    return matrix[columns].to_numpy(float)


def _tagged(value):
    """JSON-ready, keeping what JSON loses: dict keys that are not strings, arrays, tuples."""
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: _tagged(v) for k, v in value.items()}
        return {"__items__": [[_tagged(k), _tagged(v)] for k, v in value.items()]}
    if isinstance(value, np.ndarray):
        return {"__array__": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, list | tuple):
        return [_tagged(v) for v in value]
    return plain(value)


def _untagged(value):
    if isinstance(value, dict):
        if "__items__" in value:
            return {_untagged(k): _untagged(v) for k, v in value["__items__"]}
        if "__array__" in value:
            return np.asarray(value["__array__"], dtype=value["dtype"])
        return {k: _untagged(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_untagged(v) for v in value]
    return value
