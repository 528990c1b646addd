"""Sweeps on a real Ray cluster: two nodes on the loopback address, started as a user would
(`ray start --head`, then `ray start --address` for the second node), one CPU each.

Each node is a `ray start --block` process of its own session, stopped by a signal at the
end, so no other Ray instance on the machine is touched.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import import_or_skip, run_summary

from bayes_reg.cli import CARDS_DIR, main
from bayes_reg.fanout import Task, fan_out
from bayes_reg.run.sweep import SWEEP_MANIFEST

ray = import_or_skip("ray")

# One cluster at a time: these tests share one xdist worker (ONE_WORKER_FILES in conftest.py).
RAY = str(Path(sys.executable).with_name("ray"))
# A throwaway cluster on the loopback address: no token to hand round, no usage report.
ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _nodes_alive(address: str, env: dict) -> int:
    status = subprocess.run(
        [RAY, "status", f"--address={address}"], capture_output=True, text=True, env=env
    )
    return status.stdout.count(" node_") if status.returncode == 0 else 0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The address of a two-node Ray cluster, torn down after the module's tests."""
    logs = tmp_path_factory.mktemp("ray")
    env = os.environ | ENV
    address = f"127.0.0.1:{_free_port()}"
    common = ["--block", "--num-cpus=1", "--node-ip-address=127.0.0.1", "--disable-usage-stats"]
    starts = [
        ["--head", f"--port={address.split(':')[1]}", "--include-dashboard=false"],
        [f"--address={address}"],
    ]
    nodes, files = [], []
    with pytest.MonkeyPatch.context() as patch:
        for key, value in ENV.items():
            patch.setenv(key, value)
        try:
            for i, start in enumerate(starts, 1):
                files.append((logs / f"node{i}.log").open("w"))
                nodes.append(
                    subprocess.Popen(
                        [RAY, "start", *start, *common],
                        env=env,
                        stdout=files[-1],
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
                deadline = time.monotonic() + 180
                while _nodes_alive(address, env) < i:
                    if time.monotonic() > deadline or nodes[-1].poll() is not None:
                        pytest.fail(
                            f"Ray node {i} did not start: {(logs / f'node{i}.log').read_text()}"
                        )
                    time.sleep(1)
            yield address
        finally:
            for node in nodes:
                os.killpg(node.pid, signal.SIGTERM)  # `ray start --block` stops its own node
            for node in nodes:
                try:
                    node.wait(timeout=5)
                except subprocess.TimeoutExpired:  # slow to stop: its processes are ours
                    os.killpg(node.pid, signal.SIGKILL)
                    node.wait()
            for file in files:
                file.close()


@pytest.mark.slow  # ~35 s; a sweep's equality to its runs one by one is checked by default on
# local processes (test_sweep.py), and Ray's fan-out on this cluster by the test below.
def test_a_sweep_runs_on_both_nodes_and_equals_its_combinations_run_one_by_one(cluster, tmp_path):
    out = tmp_path / "sweep"
    card = CARDS_DIR / "diabetes-ridge.toml"
    argv = ["sweep", str(card), "--seeds", "0", "1", "--only", "posterior", "--quiet"]
    assert main([*argv, "--out", str(out), "--address", cluster]) == 0
    record = json.loads((out / SWEEP_MANIFEST).read_text())
    workers = [c["worker"] for c in record["combinations"].values()]
    assert all(w.startswith("node ") for w in workers)
    assert len({w.split()[1] for w in workers}) == 2  # one task on each node
    for seed in (0, 1):
        ref = run_summary(
            card, tmp_path / f"one-{seed}", "--seed", str(seed), "--only", "posterior"
        )
        got = json.loads((out / f"seed={seed}" / "summary.json").read_text())
        for summary in (ref, got):
            summary.pop("timings_s")
        assert got == ref  # same seed, one device each: the same draws to the last bit


def _die_once(marker: str, value: int) -> int:
    """Kills its own worker process the first time it runs, then returns ``value``."""
    path = Path(marker)
    if not path.exists():
        path.write_text("killed once")
        os.kill(os.getpid(), signal.SIGKILL)
    return value


def _double(value: int) -> int:
    return 2 * value


def test_a_killed_worker_is_retried_or_reported_and_the_others_kept(cluster, tmp_path):
    # The cluster's workers cannot import this test module: send its functions by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    marker = tmp_path / "killed"
    tasks = [
        Task("dies-once", _die_once, {"marker": str(marker), "value": 7}),
        *(Task(f"double-{i}", _double, {"value": i}) for i in range(3)),
    ]
    outs = fan_out(tasks, address=cluster, retries=1, progress=False)
    assert marker.exists()  # the worker was killed once ...
    assert [o.value for o in outs] == [7, 0, 2, 4]  # ... and its task retried
    marker.unlink()
    outs = fan_out(tasks, address=cluster, retries=0, progress=False)
    assert not outs[0].ok and "worker" in outs[0].error
    assert [o.value for o in outs[1:]] == [0, 2, 4]
