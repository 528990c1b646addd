r"""Data sets: synthetic ones with a known truth, and scikit-learn's diabetes data.

:func:`d2l_synthetic` reproduces the data of the *Dive into Deep Learning* weight-decay
chapter (d2l.ai, "Weight Decay"): a high-dimensional linear model with few training rows,
so that an unpenalised fit overfits and weight decay visibly helps,

.. math::

    y = X w^* + b^* + \varepsilon, \qquad X_{ij} \sim N(0, 1), \qquad
    w^* = 0.01 \cdot \mathbf{1}, \quad b^* = 0.05, \quad \varepsilon_i \sim N(0, 0.01^2).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from bayes_reg import _validate

__all__ = [
    "D2LData",
    "Dataset",
    "Scaling",
    "ToyGap",
    "breast_cancer",
    "d2l_synthetic",
    "diabetes",
    "linnerud",
    "toy_gap",
]

#: The d2l chapter's truth and noise scale.
D2L_WEIGHT = 0.01
D2L_BIAS = 0.05
D2L_NOISE_SD = 0.01


class D2LData(NamedTuple):
    """Train and test splits of one draw, with the truth that generated them."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    true_w: np.ndarray
    true_b: float


def d2l_synthetic(
    *, seed: int = 0, n_train: int = 20, n_test: int = 100, num_inputs: int = 200
) -> D2LData:
    """The d2l.ai weight-decay chapter's synthetic regression data.

    One matrix of ``n_train + n_test`` rows is drawn, as in d2l's ``Data`` class, then
    split: the first ``n_train`` rows are the training set, the rest the test set.

    Parameters
    ----------
    seed : int
        Seed of :func:`numpy.random.default_rng`; the same seed gives the same data.
    n_train, n_test : int
        Rows in the training and test sets (d2l: 20 and 100).
    num_inputs : int
        Number of features (d2l: 200).

    Returns
    -------
    D2LData
        ``X_train`` of shape (n_train, num_inputs), ``y_train`` of shape (n_train,),
        ``X_test`` of shape (n_test, num_inputs), ``y_test`` of shape (n_test,),
        ``true_w`` of shape (num_inputs,) (all 0.01) and ``true_b`` = 0.05.

    Examples
    --------
    >>> data = d2l_synthetic(seed=1)
    >>> data.X_train.shape, data.y_test.shape, float(data.true_w[0]), data.true_b
    ((20, 200), (100,), 0.01, 0.05)
    """
    n_train = _validate.positive_int("n_train", n_train)
    n_test = _validate.positive_int("n_test", n_test)
    num_inputs = _validate.positive_int("num_inputs", num_inputs)
    seed = _validate.integer("seed", seed, minimum=0)
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    true_w = np.full(num_inputs, D2L_WEIGHT)
    X = rng.standard_normal((n, num_inputs))
    y = X @ true_w + D2L_BIAS + D2L_NOISE_SD * rng.standard_normal(n)
    return D2LData(
        X_train=X[:n_train],
        y_train=y[:n_train],
        X_test=X[n_train:],
        y_test=y[n_train:],
        true_w=true_w,
        true_b=D2L_BIAS,
    )


class Scaling(NamedTuple):
    """How inputs and target were standardised: the training rows' means and population sds
    (a constant column keeps sd 1, so it stays all zeros instead of dividing by zero)."""

    x_mean: np.ndarray
    x_sd: np.ndarray
    y_mean: float = 0.0
    y_sd: float = 1.0

    @classmethod
    def fit(
        cls, X: np.ndarray, y: np.ndarray | None = None, *, weights: np.ndarray | None = None
    ) -> Scaling:
        """The scaling of ``X`` (and of ``y``, if given; else the target is left as it is).

        ``weights`` count each row that many times: the moments of the rows repeated, as a
        sample weight means."""
        x_mean, sd = _moments(X, weights)
        x_sd = np.where(sd == 0, 1.0, sd)
        if y is None:
            return cls(x_mean, x_sd)
        y_mean, y_sd = _moments(y, weights)
        if y_sd == 0:  # else 0 / 0: NaN losses, reported as a diverged training
            raise ValueError(
                f"the target is constant on the {len(y)} training rows (every value "
                f"{float(y[0]):g}): there is nothing to fit; check the data and its split"
            )
        return cls(x_mean, x_sd, float(y_mean), float(y_sd))

    def x(self, X):
        """Standardised inputs."""
        return (X - self.x_mean) / self.x_sd

    def y(self, y):
        """Standardised target."""
        return (y - self.y_mean) / self.y_sd


def _moments(a: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population sd along the rows, each row counted ``weights`` times."""
    mean = np.average(a, axis=0, weights=weights)
    return mean, np.sqrt(np.average((a - mean) ** 2, axis=0, weights=weights))


class Dataset(NamedTuple):
    """A regression data set and how its columns were standardised.

    ``X = (X_raw - x_mean) / x_scale``, so a weight ``w_j`` on the standardised column is
    ``w_j / x_scale[j]`` per unit of the raw feature.
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    x_mean: np.ndarray
    x_scale: np.ndarray


def diabetes(*, standardize: bool = True) -> Dataset:
    """scikit-learn's diabetes data: 442 patients, 10 baseline features, disease progression.

    Shipped inside scikit-learn, so nothing is downloaded.

    Parameters
    ----------
    standardize : bool
        Centre each column and scale it to unit sd (as a penalty assumes comparable
        columns); ``False`` keeps scikit-learn's own scaling.

    Returns
    -------
    Dataset
        ``X`` of shape (442, 10), ``y`` of shape (442,), the feature names.

    Examples
    --------
    >>> data = diabetes()
    >>> data.X.shape, data.feature_names[:3]
    ((442, 10), ['age', 'sex', 'bmi'])
    """
    from sklearn.datasets import load_diabetes

    raw = load_diabetes()
    return _dataset(raw.data, raw.target, raw.feature_names, standardize)


def breast_cancer(*, standardize: bool = True) -> Dataset:
    """scikit-learn's breast cancer data (Wisconsin diagnostic): 569 tumours, 30 features,
    ``y = 1`` benign and ``0`` malignant. Shipped inside scikit-learn.

    Examples
    --------
    >>> data = breast_cancer()
    >>> data.X.shape, np.unique(data.y).tolist()
    ((569, 30), [0.0, 1.0])
    """
    from sklearn.datasets import load_breast_cancer

    raw = load_breast_cancer()
    return _dataset(raw.data, raw.target, raw.feature_names, standardize)


def linnerud(*, standardize: bool = True) -> Dataset:
    """scikit-learn's Linnerud data: 20 middle-aged men; ``y`` the chin-ups each managed (a
    count), ``X`` their weight, waist and pulse. Shipped inside scikit-learn.

    Examples
    --------
    >>> data = linnerud()
    >>> data.X.shape, data.feature_names, data.y[:3]
    ((20, 3), ['weight', 'waist', 'pulse'], array([ 5.,  2., 12.]))
    """
    from sklearn.datasets import load_linnerud

    raw = load_linnerud()
    names = [n.lower() for n in raw.target_names]
    return _dataset(raw.target, raw.data[:, 0], names, standardize)


def _dataset(X, y, names, standardize: bool) -> Dataset:
    X = np.asarray(X, dtype=float)
    d = X.shape[1]
    scaling = Scaling.fit(X) if standardize else Scaling(np.zeros(d), np.ones(d))
    return Dataset(
        scaling.x(X), np.asarray(y, float), [str(n) for n in names], scaling.x_mean, scaling.x_sd
    )


#: The 1-D toy problem: two clusters of inputs with a gap between them.
TOY_GAP_CLUSTERS = ((-1.0, -0.4), (0.4, 1.0))
TOY_GAP_NOISE_SD = 0.1


def toy_gap_truth(x):
    """The toy problem's regression function, ``sin(3x)``."""
    return np.sin(3 * np.asarray(x))


class ToyGap(NamedTuple):
    """Training rows in two clusters; test rows on an even grid across and beyond them."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    noise_sd: float


def toy_gap(*, n: int = 100, n_test: int = 200, seed: int = 0) -> ToyGap:
    r"""A 1-D regression with a gap in the inputs, where approximate posteriors are known to
    be overconfident (uncertainty *between* clusters of data).

    .. math::

        y = \sin(3x) + \varepsilon, \qquad \varepsilon \sim N(0, 0.1^2),

    with half the training inputs uniform on [-1, -0.4] and half on [0.4, 1]; the test
    inputs are ``n_test`` evenly spaced points on [-1.5, 1.5] with their own noise.

    Examples
    --------
    >>> data = toy_gap(n=40)
    >>> data.X_train.shape, data.X_test.shape, bool(abs(data.X_train).min() >= 0.4)
    ((40, 1), (200, 1), True)
    """
    n = _validate.positive_int("n", n)
    n_test = _validate.positive_int("n_test", n_test)
    seed = _validate.integer("seed", seed, minimum=0)
    if n < 2:
        raise ValueError(f"n must be at least 2 (one row per cluster), got {n}")
    rng = np.random.default_rng(seed)
    (a_lo, a_hi), (b_lo, b_hi) = TOY_GAP_CLUSTERS
    x = np.concatenate([rng.uniform(a_lo, a_hi, n // 2), rng.uniform(b_lo, b_hi, n - n // 2)])
    x_test = np.linspace(-1.5, 1.5, n_test)
    y = toy_gap_truth(x) + TOY_GAP_NOISE_SD * rng.standard_normal(n)
    y_test = toy_gap_truth(x_test) + TOY_GAP_NOISE_SD * rng.standard_normal(n_test)
    return ToyGap(x[:, None], y, x_test[:, None], y_test, TOY_GAP_NOISE_SD)
