"""What a table read through a formula must not hold: every refusal names the row, the
column or the category, and says what to write instead."""

from __future__ import annotations

import builtins
import re

import numpy as np

__all__ = [
    "changed_kinds",
    "columns_read",
    "formula_syntax",
    "plain",
    "quoted",
    "refuse_absent",
    "refuse_column_named_one",
    "refuse_duplicates",
    "refuse_missing",
    "refuse_names_not_text",
    "refuse_not_a_table",
    "refuse_not_finite",
    "refuse_numbers_in_text",
    "refuse_overlaps",
    "refuse_parts",
    "refuse_target_not_one_number",
    "refuse_uninformative",
    "refuse_unreadable_kinds",
    "refuse_unused_levels",
    "row_weights",
    "undefined_refused_later",
]


def columns_read(formula) -> set[str]:
    """The columns that ``formula`` (a string, a parsed formula, or one side of one) reads.

    formulaic's ``required_variables`` leaves out a column inside a stateful transform
    (``center(x)``, ``scale(x)``, ``poly(x)``, ``bs(x)``; formulaic 1.2.2): it calls the
    transform's own lookup without the data, which fails, and then returns nothing. Here each
    factor's Python is read for its names, with formulaic's rule for which are columns (a
    name's root, unless it is one of formulaic's transforms or modules such as ``np``)."""
    from formulaic import Formula

    parsed = Formula(formula) if isinstance(formula, str) else formula
    sides = (parsed.lhs, parsed.rhs) if hasattr(parsed, "lhs") else (parsed,)
    return {name for side in sides for f in _factors(side) for name in _read(f)}


def formula_syntax(err) -> str:
    """formulaic's error for a formula it cannot parse, on one line and without the terminal
    colour codes around the place it marks (⧛ ⧚), which a log or a notebook shows raw."""
    message, _, place = re.sub(r"\x1b\[[0-9;]*m", "", str(err)).partition("\n\n")
    return f"{message.strip()} (marked: {place.strip()})" if place.strip() else message.strip()


def _factors(side) -> list:
    """The factors of a formula's side, term by term (``a:b`` has two)."""
    return [factor for term in side for factor in term.factors]


def _read(factor) -> set[str]:
    """The columns one factor of a formula reads (``x`` for ``x``, ``center(x)``, ``C(x)``,
    ``abs(x)``: a Python builtin that is called is not a column)."""
    from formulaic.transforms import TRANSFORMS
    from formulaic.utils.variables import Variable, get_required_variables

    if factor.eval_method is factor.EvalMethod.LOOKUP:
        return {factor.expr}
    if factor.eval_method is factor.EvalMethod.PYTHON:
        names = get_required_variables(factor.expr, {})  # no transforms: none is evaluated
        return {
            name.root
            for name in names
            if name.root not in TRANSFORMS
            and not (name.root in vars(builtins) and Variable.Role.CALLABLE in name.roles)
        }
    return set()  # a literal


def refuse_absent(formula: str, parsed, frame, used) -> None:
    """A name the formula reads that the table lacks. Where the formula calls it (``sqrt(x)``,
    ``logit(p)``, ``scipy.special.expit(x)``), it is a function a formula does not know: a
    fit's design must read new rows again, in another session too, so it calls only formulaic's
    transforms and NumPy (``np.sqrt``)."""
    from formulaic.utils.variables import Variable, get_required_variables

    absent = [v for v in used if v not in frame.columns]
    if not absent:
        return
    refuse_names_not_text(c for c in frame.columns if str(c) in absent)
    called = sorted(
        {
            str(name)
            for f in _factors(parsed.lhs) + _factors(parsed.rhs)
            if f.eval_method is f.EvalMethod.PYTHON
            for name in get_required_variables(f.expr, {})
            if Variable.Role.CALLABLE in name.roles and name.root in absent
        }
    )
    if called:
        numpy = [name for name in called if callable(getattr(np, name, None))]
        raise ValueError(
            f"formula {formula!r} calls {', '.join(map(repr, called))}, which is neither "
            "a column nor a function a formula knows (formulaic's transforms, such as log, "
            "exp, center, poly, and NumPy's as np.*)"
            + (f"; write {', '.join(f'np.{name}' for name in numpy)}" if numpy else "")
            + "; or compute the column first: frame.assign(name=...)"
        )
    raise ValueError(
        f"formula {formula!r} reads column(s) {', '.join(map(repr, absent))} that the table "
        f"lacks; it has {', '.join(map(repr, frame.columns))}"
    )


def refuse_overlaps(
    formula: str, target: set, features: set, exposure, id, weight=None, trials=None
) -> None:
    """A column read in two roles: the target also a feature (the model would be handed its
    answer), the id (which only names rows) or the sample weights in the model, the exposure or
    the trials as the target; ``target`` and ``features`` are the columns the formula's two
    sides read."""
    # Only a target of one column: I(deaths / population) ~ population is a rate model.
    if len(target) == 1 and target <= features:
        raise ValueError(
            f"formula {formula!r} reads the target's column {next(iter(target))!r} on its right "
            "too, which hands the model its answer; remove it from the right"
        )
    for role, column, what in (("id", id, "names"), ("sample_weight", weight, "weights")):
        if column is not None and column in target | features:
            raise ValueError(
                f"{role} column {column!r} {what} the rows and is not read by the model; remove "
                f"it from the formula, or name another {role} column"
            )
    for role, column in (("exposure", exposure), ("trials", trials)):
        if column is not None and column in target:
            raise ValueError(f"{role} column {column!r} is the target; name the column of {role}")


def refuse_parts(formula: str, parsed) -> None:
    """formulaic's ``|`` splits a side into parts (a tuple of formulas); a model here reads one
    target and one right side."""
    if any(isinstance(getattr(parsed, side, None), tuple) for side in ("lhs", "rhs")):
        raise ValueError(
            f"formula {formula!r} has a '|', which splits a side into parts; a model here reads "
            "one target and one right side: join the terms with '+'"
        )


def row_weights(frame, column: str) -> np.ndarray:
    """The sample-weight column's values: numbers >= 0, not 0 in every row; a bad one named by
    its row (a missing one is refused, or its row dropped, with the model's columns)."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    values = frame[column]
    if not is_numeric_dtype(values.dtype) or is_bool_dtype(values.dtype):
        raise ValueError(f"sample_weight column {column!r} must hold numbers, got {values.dtype}")
    w = values.to_numpy(float)
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"{frame.index.name or 'row'} {plain(frame.index[i])!r}, column {column!r}: weight "
            f"{w[i]} (a sample weight is a finite number >= 0)"
        )
    if not w.any():
        raise ValueError(
            f"sample_weight column {column!r} is zero in every row: no row would inform the fit"
        )
    return w


def refuse_duplicates(frame, columns) -> None:
    """A table may hold two columns of one name, and a formula would read one of them silently."""
    read = set(columns)
    twice = sorted({c for c in frame.columns[frame.columns.duplicated()] if c in read})
    if twice:
        raise ValueError(
            f"the table has more than one column named {', '.join(map(repr, twice))}; rename "
            "or drop the copies"
        )


def refuse_missing(frame, columns) -> None:
    """Refuse a missing value in ``columns`` with its row and column, and how many rows have one."""
    bad = frame[columns].isna()
    if bad.to_numpy().any():
        row, column = bad.stack().loc[lambda s: s].index[0]
        row, total = plain(row), int(bad.any(axis=1).sum())
        raise ValueError(
            f"{frame.index.name or 'row'} {row!r}, column {column!r}: missing value ({total} "
            "row(s) have one); fill them in, or drop those rows (missing='drop'; a card's "
            '[data] missing = "drop")'
        )


def undefined_refused_later():
    """NumPy's warnings for ``np.log(0)`` and the like, silenced: the value they warn of is
    refused with its row and column (:func:`refuse_not_finite`)."""
    return np.errstate(divide="ignore", invalid="ignore", over="ignore")


def refuse_not_finite(index, columns, values: np.ndarray) -> None:
    """Refuse an infinite or NaN value with its row and column: a transform (``np.log(x)``
    of a 0, ``1 / x``) can make one of a complete row."""
    bad = ~np.isfinite(values)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(
            f"{index.name or 'row'} {plain(index[i])!r}, column {columns[j]!r}: "
            f"{values[i, j]} ({int(bad.any(axis=1).sum())} row(s) have a value that is missing "
            "or not finite, in the table or after a transform in the formula)"
        )


def refuse_uninformative(features, X: np.ndarray, encoder_state: dict, intercept: bool) -> None:
    """Where the formula has an intercept: a constant column (the intercept covers it), and a
    category with one level, whose only column formulaic drops without a word (R's ``lm``
    refuses it)."""
    if not intercept:
        return
    constant = [f for f, column in zip(features, X.T, strict=True) if np.ptp(column) == 0]
    if constant:
        raise ValueError(
            f"constant column(s) {', '.join(constant)} carry no information (the intercept "
            "covers them); remove them, or write '- 1' to drop the intercept"
        )
    single = {
        factor: state["categories"][0]
        for factor, (_, state) in encoder_state.items()
        if len(state.get("categories", ())) == 1
    }
    if single:
        shown = ", ".join(f"{factor} (only {plain(v)!r})" for factor, v in single.items())
        raise ValueError(
            f"category {shown} has one level in the fitted rows, so it carries no information "
            "and would be left out of the model silently; remove it, or write '- 1' to drop "
            "the intercept"
        )


def refuse_target_not_one_number(formula: str, lhs) -> None:
    """The left of ``formula`` (formulaic's matrix ``lhs``) is one number per row: not a text or
    category target, which formulaic encodes as one indicator column per level."""
    spec = lhs.model_spec
    levels = [
        state["categories"] for _, state in spec.encoder_state.values() if "categories" in state
    ]
    variables = sorted(columns_read(spec.formula))
    if len(levels) == 1 and len(variables) == 1:
        shown = ", ".join(repr(plain(v)) for v in levels[0])
        last = plain(levels[0][-1])
        last = f'"{last}"' if isinstance(last, str) else repr(last)
        rewritten = f"I({quoted(variables[0])} == {last}) ~ {formula.split('~', 1)[1].strip()}"
        raise ValueError(
            f"formula {formula!r}: the target {variables[0]!r} is a category ({shown}), and a "
            "model's target is one number per row. For a binary outcome give a 0/1 or boolean "
            f"column, or compare it on the left: {rewritten}"
        )
    if lhs.shape[1] != 1 or levels:
        raise ValueError(f"formula {formula!r} must have one target column on its left")


def refuse_not_a_table(frame, what: str = "frame") -> None:
    """Refuse anything but a DataFrame (an array has no column names to read a formula by)."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")


def refuse_numbers_in_text(parsed, frame) -> None:
    """A column of text that also holds numbers (a column of numbers with a stray "n/a" or
    "?") would be read as one category per distinct value without a word; ``C(x)`` says that
    its values are categories."""
    import pandas as pd
    from pandas.api.types import is_numeric_dtype

    as_is = {name for f in _factors(parsed.rhs) if not f.expr.startswith("C(") for name in _read(f)}
    for name in sorted(as_is):
        column = frame[name]
        if is_numeric_dtype(column) or isinstance(column.dtype, pd.CategoricalDtype):
            continue
        text = column.notna() & pd.to_numeric(column, errors="coerce").isna()
        if text.any() and not text[column.notna()].all():
            row = text.idxmax()
            raise ValueError(
                f"column {name!r} holds numbers and text ({frame.index.name or 'row'} "
                f"{plain(row)!r}: {column[row]!r}), so each of its {column.nunique()} distinct "
                f"values would be a category; make it numbers (frame[{name!r}] = "
                f"pd.to_numeric(frame[{name!r}], errors='coerce'), then missing='drop'), or "
                f"write C({quoted(name)}) if its values are categories"
            )


def refuse_unreadable_kinds(parsed, frame) -> None:
    """Dates, durations and complex numbers read as they are: formulaic fails inside on a
    date, reads a duration as a count of its unit (a day as 8.64e10 µs), and drops a complex
    number's imaginary part. (Read through Python they may give numbers:
    ``I(x.dt.day_of_year)``.)"""
    from pandas.api.types import is_complex_dtype, is_datetime64_any_dtype, is_timedelta64_dtype

    as_is = {f.expr for f in _factors(parsed.rhs) if f.eval_method is f.EvalMethod.LOOKUP}
    for name in sorted(as_is):
        column, shown = frame[name], f"frame[{name!r}]"
        if is_datetime64_any_dtype(column):
            kind, how = "dates", f"e.g. days since the first, ({shown} - {shown}.min()).dt.days"
            how = f"numbers, {how}, or I({quoted(name)}.dt.year) in the formula"
        elif is_timedelta64_dtype(column):
            kind, how = "durations", f"numbers, e.g. days, {shown}.dt.total_seconds() / 86400"
        elif is_complex_dtype(column):
            kind, how = "complex numbers", "its real and imaginary parts as two columns"
        else:
            continue
        raise ValueError(
            f"column {name!r} holds {kind}, and a model reads numbers or categories; give {how}"
        )


def refuse_unused_levels(frame, columns) -> None:
    """A pandas Categorical keeps levels that no row holds (after a filter, or rows dropped for
    missing values): each would be a column of zeros, whose coefficient no data informs."""
    import pandas as pd

    for name in columns:
        column = frame[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            held = set(column.dropna())
            unused = [plain(v) for v in column.cat.categories if v not in held]
            if unused:
                raise ValueError(
                    f"category {name!r} has level(s) {', '.join(map(repr, unused))} that no "
                    f"fitted row holds; drop them: frame[{name!r}] = "
                    f"frame[{name!r}].cat.remove_unused_categories()"
                )


def refuse_names_not_text(names) -> None:
    """A formula names columns by text, so a column named by a number (a table made from an
    array has columns 0, 1, ...) cannot be read."""
    numbers = [plain(n) for n in names if not isinstance(n, str)]
    if numbers:
        shown = ", ".join(map(repr, numbers[:5])) + (", ..." if len(numbers) > 5 else "")
        raise ValueError(
            f"column name(s) {shown} are not text, and a formula names columns by text; name "
            "them, e.g. frame.rename(columns=lambda c: c if isinstance(c, str) else f'x{c}')"
        )


def refuse_column_named_one(tokens) -> None:
    """formulaic reads `1` as the intercept even in backticks, which would leave a column
    named "1" out of the model without a word."""
    if any(t.kind is t.Kind.NAME and t.token == "1" for t in tokens):
        raise ValueError(
            "a formula cannot read a column named '1': formulaic takes `1` for the intercept, "
            "even in backticks; rename the column, e.g. frame.rename(columns={'1': 'x1'})"
        )


def changed_kinds(frame, variables, categories: dict) -> list[str]:
    """The columns of ``frame`` that hold numbers where the fit read categories, or text where
    it read numbers (formulaic then makes other columns than the fit's)."""
    import pandas as pd
    from pandas.api.types import is_numeric_dtype

    changed = []
    for name in variables:
        numbers = is_numeric_dtype(frame[name])
        in_a_category = any(re.search(rf"\b{re.escape(name)}\b", f) for f in categories)
        if name in categories and numbers:
            levels = ", ".join(repr(plain(v)) for v in categories[name])
            changed.append(f"column {name!r} held categories ({levels}) in the fit, numbers here")
        elif not numbers and not in_a_category:
            values = frame[name]
            text = values[pd.to_numeric(values, errors="coerce").isna() & values.notna()]
            shown = text if len(text) else values  # the first that is not a number
            changed.append(
                f"column {name!r} held numbers in the fit, text here ({frame.index.name or 'row'} "
                f"{plain(shown.index[0])!r}: {plain(shown.iloc[0])!r})"
            )
    return changed


def quoted(name: str) -> str:
    """A column name as a formula term (backticks where it is not a Python name)."""
    return name if name.isidentifier() else f"`{name}`"


def plain(value):
    """A NumPy scalar as the Python value it holds (``np.int64(3)`` prints as ``3``)."""
    return value.item() if hasattr(value, "item") else value
