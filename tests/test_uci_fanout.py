"""The MC-dropout UCI protocol fanned out split by split (bayes_reg.fanout, local processes).

Reference: the same protocol run in this process, all splits vmapped together, with the same
seeds. Ray is not started here (tests/test_ray_cluster.py owns the Ray tests).
"""

import jax
import numpy as np
import pytest

from bayes_reg.nets import uci_dropout
from bayes_reg.nets.uci_dropout import mc_dropout_protocol
from bayes_reg.uci import UCI_DIR

YACHT = UCI_DIR / "yacht"
TINY = dict(splits=[0, 1], epochs=2, passes=10, progress=False)

# float32 rounding, relative: 2 units in the last place.
ULPS_2 = 2 * float(np.finfo(np.float32).eps)


@pytest.mark.slow  # ~20 s; by default the protocol's fan-out runs in the failed-split test
# below, and a fan-out's results equal to one process's in test_sweep.py and test_sbc.py.
def test_processes_engine_matches_the_in_process_run():
    here = mc_dropout_protocol(YACHT, **TINY)
    # Workers with as many JAX devices as this process (one, in the tests) shard the networks
    # alike; with another count they would train to other rounding.
    fanned = mc_dropout_protocol(
        YACHT, engine="processes", workers=2, cpus_per_task=len(jax.devices()), **TINY
    )
    assert fanned.attrs["engine"] == "processes" and here.attrs["engine"] == "in-process"
    same = {k: v for k, v in here.attrs.items() if k not in ("engine", "seconds")}
    assert {k: fanned.attrs[k] for k in same} == same
    assert fanned.sizes == here.sizes
    for name in fanned.coords:
        np.testing.assert_array_equal(fanned[name].values, here[name].values)
    # Each network has the same seed and trains alike, so the choices are the same. The
    # float32 scores may still differ in the last places: a task scores its split's 20 grid
    # networks in one batch, this process both splits' 40 in batches of 37 and 3
    # (``_scores``'s ``lax.map``). Measured: equal here; with 4 splits, 400 epochs and 1000
    # passes, validation log likelihoods within 1.95e-7 relative (under 2 ulps).
    for name in ("dropout", "tau"):
        np.testing.assert_array_equal(fanned[name].values, here[name].values)
    for name in ("rmse", "log_likelihood", "validation_log_likelihood"):
        np.testing.assert_allclose(fanned[name].values, here[name].values, rtol=ULPS_2, atol=0)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"engine": "dask"}, ValueError, "engine"),
        ({"address": "head:6379"}, ValueError, "address names a Ray cluster"),
        ({"engine": "processes", "epochs": 0}, ValueError, "epochs must be >= 1"),
        ({"engine": "processes", "splits": [0, 99]}, ValueError, "split must lie in"),
    ],
)
def test_bad_input_is_refused_before_any_task(monkeypatch, kwargs, error, match):
    def forbidden(*args, **kwargs):
        raise AssertionError("tasks were started before the input was checked")

    monkeypatch.setattr(uci_dropout, "fan_out", forbidden)
    with pytest.raises(error, match=match):
        mc_dropout_protocol(YACHT, **{"passes": 10, "progress": False, **kwargs})


def _write_uci(d, rng):
    """Two splits of 23 rows; split 1 trains on rows whose target is constant."""
    d.mkdir()
    data = rng.standard_normal((23, 3))
    data[:16, 2] = 1.5
    np.savetxt(d / "data.txt", data)
    for name, text in {
        "index_features.txt": "0\n1\n",
        "index_target.txt": "2\n",
        "n_splits.txt": "2\n",
        "dropout_rates.txt": "0.01\n0.1\n",
        "tau_values.txt": "0.5\n1.0\n",
        "n_hidden.txt": "7\n",
        "n_epochs.txt": "1\n",
    }.items():
        (d / name).write_text(text)
    rows = {0: rng.permutation(23), 1: np.r_[rng.permutation(16), 16:23]}
    for k, perm in rows.items():
        np.savetxt(d / f"index_train_{k}.txt", perm[:16], fmt="%d")
        np.savetxt(d / f"index_test_{k}.txt", perm[16:], fmt="%d")


def test_a_failed_split_is_named_once_all_have_run(tmp_path, rng):
    # A realistic failure inside a worker (monkeypatching would not reach a spawned one): the
    # target of split 1 is constant on its validation grid's training rows, which is refused.
    _write_uci(tmp_path / "toy", rng)
    with pytest.raises(RuntimeError) as info:
        mc_dropout_protocol(
            tmp_path / "toy", engine="processes", workers=2, epochs=2, passes=10, progress=False
        )
    message = str(info.value)
    start = "1 of 2 splits of toy failed:\n  split 1: ValueError: the target is constant"
    assert message.startswith(start)
    assert "split 0" not in message
