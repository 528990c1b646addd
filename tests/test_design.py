"""Tables through formulas (bayes_reg.design): the matrices against ones built by hand, the
recipe rebuilt from JSON, standardising against scikit-learn, and every refusal naming its
row, column or category."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import StandardScaler

from bayes_reg.design import Design, design_matrix


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    n = 40
    return pd.DataFrame(
        {
            "y": rng.normal(size=n),
            "age": rng.uniform(20, 70, n),
            "dose": rng.uniform(0.5, 4.0, n),
            "sex": rng.choice(["F", "M"], n),
            "site": rng.choice([3, 7, 9], n),
            "smoker": rng.choice([True, False], n),
        }
    )


def test_formula_terms_against_hand_built_columns(frame):
    table = design_matrix(frame, "y ~ age + np.log(dose) + C(site) + sex + age:sex")
    male = (frame.sex == "M").to_numpy(float)
    expected = np.column_stack(
        [
            frame.age,
            np.log(frame.dose),
            frame.site == 7,
            frame.site == 9,
            male,
            frame.age * male,
        ]
    ).astype(float)
    assert table.design.features == (
        "age",
        "np.log(dose)",
        "C(site)[T.7]",
        "C(site)[T.9]",
        "sex[T.M]",
        "age:sex[T.M]",
    )
    np.testing.assert_array_equal(table.X, expected)
    np.testing.assert_array_equal(table.y, frame.y)
    assert table.design.intercept and table.design.target == "y"


def test_no_formula_is_the_target_against_every_other_column(frame):
    table = design_matrix(frame.assign(pid=range(len(frame))), target="y", id="pid")
    # Text columns become categories; true/false columns are the numbers 1/0.
    assert table.design.features == ("age", "dose", "sex[T.M]", "site", "smoker")
    np.testing.assert_array_equal(table.X[:, 4], frame.smoker.to_numpy(float))
    np.testing.assert_array_equal(table.ids, np.arange(len(frame)))


def test_no_intercept(frame):
    assert not design_matrix(frame, "y ~ age - 1").design.intercept
    assert not design_matrix(frame, "y ~ 0 + age").design.intercept


def test_standardised_columns_match_standard_scaler(frame):
    table = design_matrix(frame, "y ~ age + dose + sex", standardize=True)
    raw = design_matrix(frame, "y ~ age + dose + sex").X
    np.testing.assert_allclose(table.X, StandardScaler().fit_transform(raw), rtol=1e-12)
    # Least squares on the standardised columns, mapped back, is least squares on the raw ones.
    std = LinearRegression().fit(table.X, table.y)
    direct = LinearRegression().fit(raw, table.y)
    w, b = table.design.original_units(std.coef_, std.intercept_)
    np.testing.assert_allclose(w, direct.coef_, rtol=1e-9)
    np.testing.assert_allclose(b, direct.intercept_, rtol=1e-9)


def test_the_recipe_survives_json_and_rebuilds_new_rows(frame):
    formula = "y ~ center(age) + poly(dose, degree=2) + C(site, contr.sum) + sex:dose"
    table = design_matrix(frame, formula, standardize=True)
    design = Design.from_json(table.design.to_json())
    assert design == table.design or design.to_json() == table.design.to_json()
    np.testing.assert_allclose(design.matrix(frame), table.X, rtol=1e-12)
    # One new row alone: the stateful transforms keep the training rows' state, and the
    # categories their levels (a lone site 9 is still the third level).
    one = frame.iloc[[5]].drop(columns="y")
    np.testing.assert_allclose(design.matrix(one), table.X[[5]], rtol=1e-12)


def test_column_names_that_need_quoting(frame):
    frame = frame.rename(columns={"dose": "dose (mg)", "sex": "sex code"})
    table = design_matrix(frame, target="y")
    assert table.design.features[1:3] == ("dose (mg)", "sex code[T.M]")
    design = Design.from_json(table.design.to_json())
    np.testing.assert_array_equal(design.matrix(frame.iloc[:3]), table.X[:3])


def test_missing_values_are_refused_by_row_and_column_or_dropped(frame):
    frame.loc[[4, 11], "dose"] = np.nan
    with pytest.raises(ValueError, match=r"row 4, column 'dose': missing value \(2 row"):
        design_matrix(frame, "y ~ dose + age")
    table = design_matrix(frame, "y ~ dose + age", missing="drop")
    assert table.dropped == [4, 11] and table.X.shape == (38, 2)
    # A column the formula does not read may have gaps.
    assert design_matrix(frame, "y ~ age").X.shape == (40, 1)


@pytest.mark.parametrize("term", ["center(dose)", "scale(dose)", "poly(dose, degree=2)"])
def test_a_column_inside_a_stateful_transform_is_read_like_any_other(frame, term):
    # formulaic 1.2.2's required_variables leaves out the column of center(x), scale(x),
    # poly(x): missing='drop' kept its gaps, and its mean (all NaN) was refused as "row 0".
    frame.loc[[4, 11], "dose"] = np.nan
    with pytest.raises(ValueError, match=r"row 4, column 'dose': missing value \(2 row"):
        design_matrix(frame, f"y ~ age + {term}")
    table = design_matrix(frame, f"y ~ age + {term}", missing="drop")
    kept = frame.drop(index=[4, 11])
    assert table.dropped == [4, 11] and table.design.variables == ["age", "dose"]
    if term == "center(dose)":  # against the column centred by hand on the kept rows
        np.testing.assert_allclose(table.X[:, 1], kept.dose - kept.dose.mean(), rtol=1e-12)
    with pytest.raises(ValueError, match=r"reads column\(s\) 'height' that the table lacks"):
        design_matrix(frame, f"y ~ {term.replace('dose', 'height')}")
    with pytest.raises(ValueError, match=r"the new rows lack column\(s\) 'dose' of the fitted"):
        table.design.matrix(kept[["age"]])
    with pytest.raises(ValueError, match=r"reads the target's column 'y' on its right too"):
        design_matrix(frame, f"y ~ {term.replace('dose', 'y')}")


@pytest.mark.parametrize("formula", ["y ~ dose", "y ~ np.log(dose)", "y ~ age:dose", "y ~ ."])
def test_a_column_of_numbers_with_text_in_it_is_refused_unless_it_is_a_category(frame, formula):
    # Read as it is, each distinct value would be a category: 40 doses, 39 indicator columns.
    dose = frame.dose.astype(object).where(frame.index != 7, "n/a")
    with pytest.raises(ValueError, match=r"column 'dose' holds numbers and text \(row 7: 'n/a'\)"):
        design_matrix(frame.assign(dose=dose), formula)
    numbers = frame.assign(dose=pd.to_numeric(dose, errors="coerce"))  # the message's way out
    assert design_matrix(numbers, "y ~ dose", missing="drop").dropped == [7]
    # C() says the values are categories; a text column without numbers is one as it is.
    codes = frame.assign(stage=frame.site.astype(str).where(frame.index != 7, "unknown"))
    assert design_matrix(codes, "y ~ C(stage)").design.categories == {
        "C(stage)": ["3", "7", "9", "unknown"]
    }
    assert design_matrix(frame, "y ~ sex").design.features == ("sex[T.M]",)


def test_pandas_string_columns_are_categories_as_text_is(frame):
    # formulaic passes pandas' "string" dtype (missing as pd.NA) through as if it held numbers
    # (the matrix then failed: "could not convert string to float: 'F'").
    as_string = frame.assign(sex=frame.sex.astype("string"))
    table = design_matrix(as_string, "y ~ age + sex")
    np.testing.assert_array_equal(table.X, design_matrix(frame, "y ~ age + sex").X)
    np.testing.assert_array_equal(table.X[:, 1], (frame.sex == "M").to_numpy(float))
    new = as_string.iloc[:5]
    np.testing.assert_array_equal(table.design.matrix(new), table.X[:5])
    as_target = frame.assign(sex=frame.sex.astype("string"))
    with pytest.raises(ValueError, match=r"the target 'sex' is a category \('F', 'M'\)"):
        design_matrix(as_target, "sex ~ age")


@pytest.mark.parametrize(
    "values, message",
    [
        (pd.date_range("2026-01-01", periods=40), r"holds dates, .*\.dt\.days, or I\(when\.dt"),
        (pd.to_timedelta(np.arange(40), unit="D"), r"holds durations, .*\.total_seconds\(\)"),
        (np.arange(40) + 1j, r"holds complex numbers, .* real and imaginary parts"),
    ],
)
def test_dates_durations_and_complex_numbers_are_refused_as_they_are(frame, values, message):
    # A date failed inside numpy, a duration was read as a count of its unit (a day as 8.64e10
    # µs), a complex number lost its imaginary part with a warning.
    with pytest.raises(ValueError, match=rf"column 'when' {message}"):
        design_matrix(frame.assign(when=values), "y ~ age + when")
    design_matrix(frame.assign(when=values), "y ~ age")  # not read: no matter
    if isinstance(values, pd.DatetimeIndex):  # through Python, as the message says
        table = design_matrix(frame.assign(when=values), "y ~ age + I(when.dt.day_of_year)")
        np.testing.assert_array_equal(table.X[:, 1], np.arange(1, 41))


def test_a_category_level_that_no_row_holds_is_refused(frame):
    # It made a column of zeros: refused as "constant (the intercept covers it)", or kept
    # under '- 1' for a coefficient that no data informs.
    sex = pd.Categorical(frame.sex, categories=["F", "M", "X"])
    for formula in ("y ~ age + sex", "y ~ age + C(sex)", "y ~ age + sex - 1"):
        with pytest.raises(ValueError, match=r"category 'sex' has level\(s\) 'X' that no fitted"):
            design_matrix(frame.assign(sex=sex), formula)
    # Dropping the rows with missing values can leave a level without rows, too.
    ward = pd.Categorical(np.where(frame.index < 38, "east", "west"))
    dropped = frame.assign(ward=ward, age=frame.age.where(frame.index < 38))
    with pytest.raises(ValueError, match=r"category 'ward' has level\(s\) 'west'"):
        design_matrix(dropped, "y ~ age + ward - 1", missing="drop")
    table = design_matrix(frame.assign(sex=sex.remove_unused_categories()), "y ~ age + sex")
    assert table.design.features == ("age", "sex[T.M]")


def test_new_rows_are_checked_against_the_design(frame):
    design = design_matrix(frame, "y ~ age + sex + C(site)").design
    new = frame.drop(columns="y").iloc[:3]
    with pytest.raises(ValueError, match=r"lack column\(s\) 'sex'"):
        design.matrix(new.drop(columns="sex"))
    with pytest.raises(ValueError, match=r"never saw: \{'X'\}"):
        design.matrix(new.assign(sex="X"))
    with pytest.raises(ValueError, match=r"never saw: \{5\}; the fitted categories are"):
        design.matrix(new.assign(site=5))
    with pytest.raises(ValueError, match=r"row 1, column 'age': missing value"):
        design.matrix(new.assign(age=[1.0, np.nan, 2.0]))
    with pytest.raises(TypeError, match=r"the new rows must be a pandas DataFrame, got ndarray"):
        design.matrix(new.to_numpy())
    # A column of another kind than the fit's: formulaic would make other columns.
    with pytest.raises(
        ValueError, match=r"'age' held numbers in the fit, text here \(row 1: 'n/a'\)"
    ):
        design.matrix(new.assign(age=["31", "n/a", "52"]))
    with pytest.raises(ValueError, match=r"'sex' held categories \('F', 'M'\) in the fit, numbers"):
        design.matrix(new.assign(sex=[0, 1, 1]))


def test_the_target_of_rows_to_score_is_checked(frame):
    design = design_matrix(frame, "np.log(dose) ~ age").design
    np.testing.assert_allclose(design.response(frame), np.log(frame.dose), rtol=1e-15)
    with pytest.raises(ValueError, match=r"the rows lack the target's column\(s\) 'dose'"):
        design.response(frame.drop(columns="dose"))
    with pytest.raises(ValueError, match=r"the rows' target cannot be read: .*np.log\(dose\)"):
        design.response(frame.assign(dose="a"))
    with pytest.raises(ValueError, match=r"the target 'y' is a category \('a'\)"):
        design_matrix(frame, "y ~ age").design.response(frame.assign(y="a"))
    with pytest.raises(TypeError, match=r"the rows must be a pandas DataFrame, got dict"):
        design.response(frame.to_dict("list"))


@pytest.mark.parametrize(
    "formula, kwargs, message",
    [
        ("~ age", {}, r"needs a target on its left"),
        ("~ .", {}, r"formula '~ \.' needs a target on its left"),  # as written, not expanded
        (". ~ age", {}, r"has a dot on its left; .* it goes on the right: 'y ~ \.'"),
        # formulaic lets Python's bare "invalid syntax" through for a term that is not Python.
        ("np.log(.) ~ age", {}, r"'np.log\(\.\)' is not a Python .* only as a term of its own"),
        ("y ~ age + np.log(age,,)", {}, r"'np.log\(age,,\)' is not a Python expression$"),
        ("y ~ age + height", {}, r"reads column\(s\) 'height' that the table lacks"),
        # A function the formula calls that is neither a column nor formulaic's or NumPy's (it
        # was "reads column(s) 'sqrt' that the table lacks"; np.logit: formulaic's own error).
        ("y ~ sqrt(age)", {}, r"calls 'sqrt', which is neither a column nor .*; write np.sqrt;"),
        ("y ~ scipy.special.logit(age)", {}, r"calls 'scipy.special.logit', .* column first"),
        ("y ~ np.logit(age)", {}, r"cannot be evaluated: .* has no attribute 'logit'"),
        # formulaic's syntax errors: a ValueError, the place marked without terminal colours
        # (\x1b[1;31m), on one line.
        ("y ~ age +", {}, r"cannot be read: Operator `\+` .* \(marked: y ~ age ⧛\+⧚\)$"),
        ("y ~ `age", {}, r"'y ~ `age' cannot be read: .* \(marked: y ~ ⧛`age⧚\)$"),
        ("y ~ . + (age", {}, r"'y ~ \. \+ \(age' cannot be read: .*⧛\(⧚"),  # as written
        # Parts of a formula (formulaic's '|'): no model here reads them.
        ("y ~ age | bmi", {}, r"has a '\|', which splits a side into parts; .* with '\+'"),
        ("y | bmi ~ age", {}, r"has a '\|', which splits a side into parts"),
        (None, {}, r"give a formula"),
        ("y ~ age", {"missing": "impute"}, r"missing must be one of"),
        ("y ~ age", {"exposure": "time"}, r"exposure column 'time' is not in the table"),
    ],
)
def test_bad_formulas_and_arguments(frame, formula, kwargs, message):
    with pytest.raises(ValueError, match=message):
        design_matrix(frame, formula, **kwargs)


def test_the_numpy_function_that_the_refusal_names_is_read(frame):
    table = design_matrix(frame, "y ~ np.sqrt(age)")
    np.testing.assert_array_equal(table.X[:, 0], np.sqrt(frame.age.to_numpy()))


@pytest.mark.parametrize(
    "formula, kwargs",
    [("y ~ .", {}), (None, {"target": "y"}), ("y ~ `0` + `2`", {}), ("y ~ `0`", {"id": 1})],
)
def test_a_table_made_from_an_array_is_refused_until_its_columns_are_named(formula, kwargs):
    # pd.DataFrame(X) names its columns 0, 1, ...: a formula cannot name them (it used to fail
    # inside with "'int' object has no attribute 'isidentifier'").
    rng = np.random.default_rng(1)
    table = pd.DataFrame(rng.normal(size=(12, 3))).assign(y=rng.normal(size=12))
    with pytest.raises(ValueError, match=r"column name\(s\) 0(, 1)?(, 2)? are not text"):
        design_matrix(table, formula, **kwargs)
    named = table.rename(columns=lambda c: c if isinstance(c, str) else f"x{c}")  # the hint's
    assert design_matrix(named, "y ~ .").design.features == ("x0", "x1", "x2")


def test_a_column_named_one_is_refused_rather_than_left_out(frame):
    from formulaic import model_matrix

    table = frame[["y", "age"]].assign(**{"1": frame["dose"]})
    # Why: formulaic reads `1` as the intercept, backticks or not, and drops the column.
    assert list(model_matrix("y ~ age + `1`", table).rhs.columns) == ["Intercept", "age"]
    for formula in ("y ~ age + `1`", "y ~ .", "y ~ . - age"):
        with pytest.raises(ValueError, match=r"cannot read a column named '1': .* intercept"):
            design_matrix(table, formula)
    assert design_matrix(table, "y ~ age + 1").design.features == ("age",)  # the intercept


def test_a_constant_column_is_refused_where_the_intercept_covers_it(frame):
    with pytest.raises(ValueError, match=r"constant column\(s\) unit carry no information"):
        design_matrix(frame.assign(unit=2.0), "y ~ age + unit")
    table = design_matrix(frame.assign(unit=2.0), "y ~ age + unit - 1")  # unit is the intercept
    np.testing.assert_array_equal(table.X[:, 1], 2.0)


@pytest.mark.parametrize("formula", ["y ~ age + ward", "y ~ age + C(ward)", "y ~ age + age:ward"])
def test_a_category_with_one_level_is_refused_where_the_intercept_covers_it(frame, formula):
    # formulaic would leave the ward out of the matrix without a word.
    with pytest.raises(ValueError, match=r"ward\)? \(only 'east'\) has one level in the fitted"):
        design_matrix(frame.assign(ward="east"), formula)
    table = design_matrix(frame.assign(ward="east"), "y ~ age + ward - 1")  # ward is the intercept
    assert table.design.features == ("age", "ward[east]")
    np.testing.assert_array_equal(table.X[:, 1], 1.0)
    # Dropping rows can leave one level too.
    ward = np.where(frame.index < 3, "west", "east")
    y = frame.y.where(frame.index >= 3)
    with pytest.raises(ValueError, match=r"ward \(only 'east'\) has one level"):
        design_matrix(frame.assign(ward=ward, y=y), "y ~ age + ward", missing="drop")


def test_a_value_a_transform_leaves_undefined_is_refused_by_row_and_column(frame):
    frame = frame.set_index(pd.Index([f"p{i}" for i in range(len(frame))], name="patient"))
    dose = frame.dose.where(frame.index != "p3", 0.0)
    with pytest.raises(ValueError, match=r"patient 'p3', column 'np.log\(dose\)': -inf \(1 row"):
        design_matrix(frame.assign(dose=dose), "y ~ age + np.log(dose)")
    age = frame.age.where(frame.index != "p3", -1.0)
    with pytest.raises(ValueError, match=r"patient 'p3', column 'np.log\(age\)': nan \(1 row"):
        design_matrix(frame.assign(age=age), "np.log(age) ~ dose")
    design = design_matrix(frame, "y ~ age + np.log(dose)").design
    with pytest.raises(ValueError, match=r"patient 'p3', column 'np.log\(dose\)': -inf"):
        design.matrix(frame.assign(dose=dose))


def test_a_python_builtin_in_a_formula_is_not_a_column(frame):
    # It was refused as "reads column(s) 'abs' that the table lacks" (formulaic's own rule).
    table = design_matrix(frame, "y ~ abs(age - 40) + round(dose)")
    np.testing.assert_array_equal(
        table.X, np.column_stack([abs(frame.age - 40), frame.dose.round()])
    )
    assert table.design.variables == ["age", "dose"]


@pytest.mark.parametrize(
    "formula, kwargs, message",
    [
        ("y ~ age + y", {}, r"reads the target's column 'y' on its right too"),
        ("np.log(dose) ~ age + dose", {}, r"reads the target's column 'dose' on its right too"),
        ('I(sex == "M") ~ age + sex', {}, r"reads the target's column 'sex' on its right too"),
        ("y ~ age + dose", {"id": "dose"}, r"id column 'dose' names the rows"),
        (None, {"target": "y", "id": "y"}, r"id column 'y' names the rows"),
        ("dose ~ age", {"exposure": "dose"}, r"exposure column 'dose' is the target"),
    ],
)
def test_a_column_in_two_roles_is_refused(frame, formula, kwargs, message):
    with pytest.raises(ValueError, match=message):
        design_matrix(frame, formula, **kwargs)


def test_a_target_of_several_columns_may_share_one_with_the_features(frame):
    # A rate per unit of a feature: the target is not that feature's column.
    table = design_matrix(frame, "I(y / dose) ~ dose")
    np.testing.assert_allclose(table.y, frame.y / frame.dose, rtol=1e-15)


def test_a_column_name_twice_is_refused_where_it_is_read(frame):
    twice = pd.concat([frame, 2 * frame[["age"]]], axis=1)
    with pytest.raises(ValueError, match=r"more than one column named 'age'"):
        design_matrix(twice, "y ~ age")
    design_matrix(twice, "y ~ dose")  # the copies are not read
    design = design_matrix(frame, "y ~ age").design
    with pytest.raises(ValueError, match=r"more than one column named 'age'"):
        design.matrix(twice)
    with pytest.raises(ValueError, match=r"more than one column named 'y'"):
        design.response(pd.concat([frame, frame[["y"]]], axis=1))


def test_a_column_name_with_a_space_is_told_to_take_backticks(frame):
    frame = frame.rename(columns={"age": "age at entry"})
    with pytest.raises(ValueError, match=r"'age at entry' is not a Python name, .*`age at entry`"):
        design_matrix(frame, "y ~ age at entry + dose")
    table = design_matrix(frame, "y ~ `age at entry` + dose")
    assert table.design.features == ("age at entry", "dose")


def test_a_missing_value_is_named_by_its_plain_row_label(frame):
    frame = frame.set_axis(pd.Index(np.arange(100, 100 + len(frame))))
    with pytest.raises(ValueError, match=r"^row 102, column 'age': missing value"):
        design_matrix(frame.assign(age=frame.age.where(frame.index != 102)), "y ~ age")


@pytest.mark.parametrize(
    "dotted, spelled, kwargs",
    [
        ("y ~ .", "y ~ age + dose + sex + site + smoker", {}),
        ("y ~ . - sex", "y ~ age + dose + site + smoker", {}),
        ("np.log(dose) ~ .", "np.log(dose) ~ y + age + sex + site + smoker", {}),
        (
            "y ~ . + I(sex + '.' == 'M.')",  # a dot in a string stays
            "y ~ age + dose + sex + smoker + I(sex + '.' == 'M.')",
            {"id": "site"},
        ),
        ("y ~ (. - dose)^2", "y ~ (age + site)^2", {"id": "sex", "exposure": "smoker"}),
    ],
)
def test_a_dot_is_every_column_the_left_side_does_not_read(frame, dotted, spelled, kwargs):
    frame = frame.assign(smoker=frame.smoker + 1.0)  # an exposure is positive
    dot = design_matrix(frame, dotted, **kwargs)
    written = design_matrix(frame, spelled, **kwargs)
    assert dot.design.features == written.design.features
    np.testing.assert_array_equal(dot.X, written.X)
    np.testing.assert_array_equal(dot.y, written.y)
    # The design keeps the dot written out: it reads new rows without the training table.
    again = Design.from_json(dot.design.to_json())
    np.testing.assert_array_equal(again.matrix(frame.iloc[:5]), written.X[:5])


def test_a_table_without_rows_is_refused(frame):
    with pytest.raises(ValueError, match="the table has no rows"):
        design_matrix(frame.iloc[:0], "y ~ age")
    with pytest.raises(ValueError, match="no rows left after dropping those with missing"):
        design_matrix(frame.assign(age=np.nan), "y ~ age", missing="drop")
    # Said before any check of the rows that are left: none holds a category's level then.
    sex = pd.Categorical(frame.sex)
    with pytest.raises(ValueError, match="no rows left after dropping those with missing"):
        design_matrix(frame.assign(age=np.nan, sex=sex), "y ~ age + sex", missing="drop")


def test_a_text_target_of_one_level_is_refused_too(frame):
    # formulaic encodes it as one column of ones, which read as a target of 1s.
    with pytest.raises(ValueError, match=r"the target 'lab' is a category \('yes'\)"):
        design_matrix(frame.assign(lab="yes"), "lab ~ age")


@pytest.mark.parametrize("target", ["sex", "C(sex)"])
def test_a_category_target_is_refused_with_a_formula_that_works(frame, target):
    # formulaic encodes a text target as one column per level; the error writes the binary
    # outcome as a comparison, and that formula reads it as 0/1.
    with pytest.raises(ValueError, match=r"the target 'sex' is a category \('F', 'M'\)") as err:
        design_matrix(frame, f"{target} ~ age")
    suggested = str(err.value).rsplit(": ", 1)[1]
    assert suggested == 'I(sex == "M") ~ age'
    table = design_matrix(frame, suggested)
    np.testing.assert_array_equal(table.y, (frame.sex == "M").to_numpy(float))


def test_only_data_frames():
    with pytest.raises(TypeError, match="pandas DataFrame"):
        design_matrix(np.zeros((3, 2)), "y ~ x")
