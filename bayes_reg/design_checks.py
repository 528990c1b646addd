"""What a table read through a formula must not hold: every refusal names the row, the
column or the category, and says what to write instead."""

from __future__ import annotations

import numpy as np

__all__ = [
    "not_one_target",
    "plain",
    "quoted",
    "refuse_duplicates",
    "refuse_missing",
    "refuse_not_finite",
    "refuse_overlaps",
    "refuse_uninformative",
    "undefined_refused_later",
]


def refuse_overlaps(formula: str, parsed, exposure, id) -> None:
    """A column read in two roles: the target also a feature (the model would be handed its
    answer), the id (which only names rows) in the model, the exposure as the target."""
    target = parsed.lhs.required_variables
    # Only a target of one column: I(deaths / population) ~ population is a rate model.
    if len(target) == 1 and target <= parsed.rhs.required_variables:
        raise ValueError(
            f"formula {formula!r} reads the target's column {next(iter(target))!r} on its right "
            "too, which hands the model its answer; remove it from the right"
        )
    if id is not None and id in parsed.required_variables:
        raise ValueError(
            f"id column {id!r} names the rows and is not read by the model; remove it from "
            "the formula, or name another id column"
        )
    if exposure is not None and exposure in target:
        raise ValueError(
            f"exposure column {exposure!r} is the target; name the column of exposures"
        )


def refuse_duplicates(frame, columns) -> None:
    """A table may hold two columns of one name, and a formula would read one of them silently."""
    twice = sorted({c for c in frame.columns[frame.columns.duplicated()] if c in set(columns)})
    if twice:
        raise ValueError(
            f"the table has more than one column named {', '.join(map(repr, twice))}; rename "
            "or drop the copies"
        )


def refuse_missing(frame, columns) -> None:
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


def not_one_target(formula: str, lhs_spec) -> str:
    """Why the left of ``formula`` is not one column: most often a text or category target,
    which formulaic encodes as one indicator column per level."""
    levels = [
        state["categories"] for _, state in lhs_spec.encoder_state.values() if "categories" in state
    ]
    variables = sorted(lhs_spec.required_variables)
    if len(levels) == 1 and len(variables) == 1:
        shown = ", ".join(repr(plain(v)) for v in levels[0])
        last = plain(levels[0][-1])
        last = f'"{last}"' if isinstance(last, str) else repr(last)
        rewritten = f"I({quoted(variables[0])} == {last}) ~ {formula.split('~', 1)[1].strip()}"
        return (
            f"formula {formula!r}: the target {variables[0]!r} is a category ({shown}), and a "
            "model's target is one number per row. For a binary outcome give a 0/1 or boolean "
            f"column, or compare it on the left: {rewritten}"
        )
    return f"formula {formula!r} must have one target column on its left"


def quoted(name: str) -> str:
    """A column name as a formula term (backticks where it is not a Python name)."""
    return name if name.isidentifier() else f"`{name}`"


def plain(value):
    return value.item() if hasattr(value, "item") else value
