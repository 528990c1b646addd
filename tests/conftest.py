"""Strict test environment: CPU only, float64, fixed seeds."""

import atexit
import gc
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("MPLBACKEND", "Agg")  # figures are drawn off-screen


def _folder_of_the_run(variable: str, prefix: str, parent: str | None = None) -> None:
    """Point ``variable`` at a new folder, unless the caller has set it; the process that made
    it removes it when it ends (xdist workers and child processes inherit the variable)."""
    if variable not in os.environ:
        os.environ[variable] = tempfile.mkdtemp(prefix=prefix, dir=parent)
        atexit.register(shutil.rmtree, os.environ[variable], ignore_errors=True)


# `bayes-reg run` turns on the persistent compilation cache: keep the tests' cache private
# (~130 MB a run).
_folder_of_the_run("BAYES_REG_CACHE_DIR", "bayes_reg-test-cache-")
# Most of the suite's time is XLA compiling, and the two xdist workers, the notebooks' kernels
# and the CLI's subprocesses compile many of the same programs: all of them share that private
# cache (JAX reads these variables when it is imported; set here, before any process imports
# it, they reach every worker and child). A program is cached by its HLO, options and JAX's
# version, so a hit runs the very program a miss would have compiled: no result changes.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.environ["BAYES_REG_CACHE_DIR"])
# Only programs that take a while to compile: writing an entry makes JAX list and size every
# file in the folder (its eviction check), which a cache of thousands of single-operation
# programs (~30 ms to compile each) made slower than compiling them; this cut a 2-worker run
# of three test files from 140 s to 109 s.
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.1")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
# JAX writes a cache entry in place, and locks the folder only when the cache has a size limit:
# without one, a process reading an entry another is still writing finds it truncated (seen in
# CI: "Error -5 while decompressing data", a warning, so a failure here). A limit far above what
# the suite writes turns the lock on (filelock, a dependency) and evicts nothing.
os.environ.setdefault("JAX_COMPILATION_CACHE_MAX_SIZE", str(64 * 2**30))
# Ray keeps every session's logs and sockets under $RAY_TMPDIR/ray (/tmp/ray by default) and
# never removes them, and `ray start --head` records its cluster there (ray_current_cluster, read
# by a user's `ray.init(address="auto")`): the run's Ray sessions get a folder of their own, so
# a user's Ray state is neither overwritten nor added to. Under /tmp, not $TMPDIR: Ray's socket
# paths must stay under 108 characters.
_folder_of_the_run("RAY_TMPDIR", "bayes_reg-test-ray-", "/tmp" if os.path.isdir("/tmp") else None)
# One CPU device per test process: the xdist workers already use every core, and results stay
# those of one device. The parallel paths (NUTS chains, sharded networks) are tested in child
# processes that set their own count (tests/test_parallel_chains.py, tests/test_dropout.py).
os.environ.setdefault("JAX_NUM_CPU_DEVICES", "1")

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

# Exactness is tested to 1e-6 or tighter: float64 everywhere.
jax.config.update("jax_enable_x64", True)


#: Files whose tests share one pytest-xdist worker: their module-scoped fixtures (card runs,
#: fitted networks, NUTS runs) are most of their time and are then built once, not once per
#: worker (30-100 s a run); and test_ray_cluster's tests must not start two clusters at once.
ONE_WORKER_FILES = {
    "test_bnn",
    "test_compare_runs",
    "test_net_laplace",
    "test_predict_command",
    "test_ray_cluster",
    "test_run",
    "test_uci_dropout",
}


def pytest_xdist_make_scheduler(config, log):
    """``--dist loadgroup`` (the default here) as a scheduler: each of ``ONE_WORKER_FILES`` is
    one unit of work, every other test its own. The ``xdist_group`` mark cannot do it under
    pytest 9.2: pytest-xdist 3.8 groups by rewriting node IDs, which pytest no longer reads
    (pytest-xdist issue 1386), so the groups are silently ignored."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class OneWorkerFiles(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            path = nodeid.split("::", 1)[0]
            return path if Path(path).stem in ONE_WORKER_FILES else nodeid

    return OneWorkerFiles(config, log)


class _ReleaseCompiledPrograms:
    """Each program XLA compiles for the CPU holds memory mappings of its own for as long as JAX
    keeps it (about 300 for one NUTS model and shape), and a test worker compiles over a
    thousand programs: by the end of a run a worker held 44,870 (JAX 0.12.1), near Linux's
    ``vm.max_map_count`` (65,530 by default), past which XLA cannot map memory and fails or
    crashes (twice at the floors: a segfault while writing an executable to the persistent
    cache). Past three quarters of the limit, checked every ``EVERY`` tests (reading the count
    takes milliseconds; between checks 20 tests apart it rose at most 2,150), the worker lets
    JAX drop the programs it keeps. A test that needs one again compiles it, or reads it from
    the run's persistent cache, hence the late threshold (at half the limit, CI's test command
    took 815 s; 743 s on the commit before). Registered as a plugin, so that the doctests in
    ``bayes_reg/`` count too; ``-p no:release-compiled-programs`` turns it off."""

    EVERY = 10

    def __init__(self):
        try:
            limit = int(Path("/proc/sys/vm/max_map_count").read_text())
        except (OSError, ValueError):  # not Linux: no such limit to keep away from
            limit = None
        self.budget = None if limit is None else limit * 3 // 4
        self.tests = 0

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_teardown(self, item):
        self.tests += 1
        if self.budget is None or self.tests % self.EVERY:
            return
        with open("/proc/self/maps", "rb") as maps:
            if maps.read().count(b"\n") > self.budget:
                jax.clear_caches()
                gc.collect()


class _KeepTheRunsCacheSettings:
    """``bayes-reg run``, which many tests call in their own process, and
    ``enable_compilation_cache``'s example set JAX's persistent-cache options for the whole
    process: after the first such test a worker cached every program, however quick to compile,
    and the example pointed the cache at a folder of its own. Writing an entry scans every entry
    already there (JAX's size check), so the cost grows with the square of their number: a whole
    run wrote 2,508 entries and its workers spent 185-198 s writing them; with each test's
    settings put back as it found them when it ends, 1,075 entries and 43 s (wall time 1,023 and
    1,114 s against 834 and 878 s, on one machine). Registered as a plugin, so that the doctests
    in ``bayes_reg/`` count too."""

    SETTINGS = (
        "jax_compilation_cache_dir",
        "jax_compilation_cache_max_size",
        "jax_persistent_cache_min_compile_time_secs",
        "jax_persistent_cache_min_entry_size_bytes",
    )

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        found = {name: getattr(jax.config, name) for name in self.SETTINGS}
        try:
            return (yield)
        finally:
            for name, value in found.items():
                jax.config.update(name, value)


def pytest_configure(config):
    config.pluginmanager.register(_ReleaseCompiledPrograms(), "release-compiled-programs")
    config.pluginmanager.register(_KeepTheRunsCacheSettings(), "keep-the-runs-cache-settings")


def pytest_collection_modifyitems(config, items):
    if any(d.platform == "gpu" for d in jax.devices()) or jax.default_backend() == "gpu":
        return
    skip = pytest.mark.skip(reason="needs a GPU (none visible to JAX)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def rng():
    return np.random.default_rng(20261123)


@pytest.fixture(scope="session")
def diabetes():
    """scikit-learn's diabetes data (442 × 10), shipped inside scikit-learn."""
    from sklearn.datasets import load_diabetes

    return load_diabetes(return_X_y=True)


@pytest.fixture
def no_compute(monkeypatch):
    """Every solver, sampler and training loop fails the test if it is reached."""

    def forbidden(*args, **kwargs):
        raise AssertionError("computation started before the input was checked")

    for module, names in [
        ("bayes_reg.linear.map", ["_ridge", "_coordinate_descent"]),
        ("bayes_reg.linear.exact", ["_posterior", "_spectrum", "_log_evidence", "_maximise"]),
        ("bayes_reg.linear.sgd", ["_path"]),
        ("bayes_reg.inference._program", ["sample"]),
        ("bayes_reg.nets.dropout", ["_train_runs", "_mc_runs"]),
    ]:
        for name in names:
            monkeypatch.setattr(f"{module}.{name}", forbidden)
