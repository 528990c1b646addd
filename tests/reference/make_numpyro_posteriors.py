"""Generate ``numpyro_posteriors.json``: NumPyro's own ``MCMC`` on the models the tests write.

Every test file that calls ``numpyro_reference`` (``tests/test_glm.py``,
``tests/test_glm_matrix.py``: every pair, the slow ones too) runs here whole, in recording
mode: ``numpyro_reference`` in ``tests/helpers.py`` then runs NumPyro (two chains of 1,000
warmup and 4,000 draws, in sequence) and stores each site's mean, sd and Monte-Carlo standard
error under a fingerprint of the model's source, the values it closes over, the data and the
sampler's settings. The tests then read the stored numbers, so a default test run does not
rerun NumPyro, and a change to a model or its data fails until this script is run again. The
tests' own assertions run as well.

Run with the project's environment, from the repository's root::

    .venv/bin/python tests/reference/make_numpyro_posteriors.py
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from helpers import NUMPYRO_POSTERIORS, RECORD_NUMPYRO  # noqa: E402

if __name__ == "__main__":
    # Found by use, not by name: a new test that asks for a reference is recorded too.
    files = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "tests").glob("test_*.py")
        if "numpyro_reference(" in path.read_text()
    )
    NUMPYRO_POSTERIORS.write_text("{}\n")  # this script's own file: entries no test asks for go
    command = [sys.executable, "-m", "pytest", *files, "-m", "not gpu", "-q"]
    command += ["-n", "0", "-p", "no:cacheprovider"]  # one process writes the file
    env = os.environ | {RECORD_NUMPYRO: "1"}
    sys.exit(subprocess.run(command, cwd=ROOT, env=env).returncode)
