"""Reading a formula against a table's columns: R's ``y ~ .`` written out, the formula parsed
by formulaic, the columns each side reads, and every way it fails to parse said in words."""

from __future__ import annotations

import re

from bayes_reg.design_checks import (
    columns_read,
    formula_syntax,
    quoted,
    refuse_column_named_one,
    refuse_names_not_text,
    refuse_parts,
)

__all__ = ["parse_formula"]


def _dot_written_out(formula: str, columns, roles) -> str:
    """R's ``y ~ .``: the dot written out as every column that the left side does not read
    (nor the exposure or id), so that the design's formula reads again without the table."""
    from formulaic.parser.algos.tokenize import tokenize
    from formulaic.parser.types import Token

    dots = [t for t in tokenize(formula) if t.kind is Token.Kind.VALUE and t.token == "."]
    if not dots:
        return formula
    left = formula.split("~", 1)[0] if "~" in formula else ""
    if dots[0].source_start < len(left):
        raise ValueError(
            f"formula {formula!r} has a dot on its left; a dot stands for the columns that the "
            "left side does not read, so it goes on the right: 'y ~ .'"
        )
    read = columns_read(left) if left.strip() else set()
    others = [c for c in columns if c not in read and c not in roles]
    refuse_names_not_text(others)
    others = " + ".join(map(quoted, others))
    if formula.split("~", 1)[-1].strip() != ".":  # in a longer right side, as one term
        others = f"({others})"
    for dot in reversed(dots):
        formula = f"{formula[: dot.source_start]}{others}{formula[dot.source_end + 1 :]}"
    return formula


def parse_formula(formula: str, columns, roles) -> tuple[str, object, set, set]:
    """``formula`` with its dot written out (:func:`_dot_written_out`), parsed, and the columns
    its left and right sides read (its terms' Python parsed for them). Every way it fails to
    parse is said in words: a column name that is not a Python name (formulaic reads
    `mean radius` unquoted as two terms) with how to write it, a term that is not Python
    (formulaic lets Python's bare error through), formulaic's own message without its terminal
    colours; a formula in parts and a column named "1" (formulaic's intercept) are refused."""
    from formulaic import Formula
    from formulaic.errors import FormulaParsingError
    from formulaic.parser.algos.tokenize import tokenize

    written = formula
    try:
        formula = _dot_written_out(formula, columns, roles)
        if "1" in columns:  # the dot written out may name it
            refuse_column_named_one(tokenize(formula))
        parsed = Formula(formula)
        refuse_parts(written, parsed)
        # Each term's Python is parsed here, inside the try.
        has_left = hasattr(parsed, "lhs")
        target = columns_read(parsed.lhs) if has_left else set()
        return formula, parsed, target, columns_read(parsed.rhs if has_left else parsed)
    except SyntaxError as err:
        # A dot that is neither an attribute's nor a number's: the columns' dot inside a call.
        dot = re.search(r"(?<![\w)\]])\.(?!\d)", err.text or "")
        hint = " (a dot stands for the other columns only as a term of its own: 'y ~ .')"
        raise ValueError(
            f"formula {written!r} cannot be read: {(err.text or '').strip()!r} is not a Python "
            f"expression{hint if dot else ''}"
        ) from None
    except FormulaParsingError as err:
        for name in map(str, columns):
            if not name.isidentifier() and name in formula and f"`{name}`" not in formula:
                raise ValueError(
                    f"formula {written!r} cannot be read: column {name!r} is not a Python "
                    f"name, so a formula writes it in backticks: {quoted(name)}"
                ) from err
        raise ValueError(f"formula {written!r} cannot be read: {formula_syntax(err)}") from None
