"""The d2l.ai weight-decay chapter's synthetic data."""

import numpy as np
import pytest

from bayes_reg.data import d2l_synthetic


def test_shapes_and_truth():
    data = d2l_synthetic(seed=0)
    assert data.X_train.shape == (20, 200)
    assert data.y_train.shape == (20,)
    assert data.X_test.shape == (100, 200)
    assert data.y_test.shape == (100,)
    np.testing.assert_array_equal(data.true_w, np.full(200, 0.01))
    assert data.true_b == 0.05


def test_seed_reproducible():
    a, b, c = d2l_synthetic(seed=5), d2l_synthetic(seed=5), d2l_synthetic(seed=6)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.X_train, c.X_train)


def test_noise_and_features():
    data = d2l_synthetic(seed=1, n_train=20_000, n_test=10, num_inputs=20)
    resid = data.y_train - data.X_train @ data.true_w - data.true_b
    # 20 000 draws: the sample sd is within ~0.5% of the truth; 20% is the asked-for check.
    assert abs(resid.std() - 0.01) < 0.2 * 0.01
    assert abs(resid.mean()) < 3 * 0.01 / np.sqrt(20_000)
    # Features are N(0, 1).
    assert abs(data.X_train.std() - 1) < 0.01
    assert abs(data.X_train.mean()) < 0.01


def test_bad_sizes():
    with pytest.raises(ValueError, match="n_train must be >= 1, got 0"):
        d2l_synthetic(n_train=0)


def test_a_constant_target_is_refused_before_any_training():
    from bayes_reg.data import Scaling

    X = np.arange(8.0).reshape(4, 2)
    with pytest.raises(ValueError, match="target is constant on the 4 training rows"):
        Scaling.fit(X, np.full(4, 2.5))
    assert Scaling.fit(X).y_sd == 1.0  # inputs alone: a constant column keeps sd 1
