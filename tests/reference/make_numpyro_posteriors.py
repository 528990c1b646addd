"""Generate ``numpyro_posteriors.json``: NumPyro's own ``MCMC`` on the models the tests write.

The tests that set a posterior against NumPyro's sampler (``tests/test_glm.py``,
``tests/test_glm_matrix.py``, every pair) run here in recording mode: ``numpyro_reference`` in
``tests/helpers.py`` then runs NumPyro (two chains of 1,000 warmup and 4,000 draws, in sequence)
and stores each site's mean, sd and Monte-Carlo standard error under a fingerprint of the
model's source, the values it closes over, the data and the sampler's settings. The tests then
read the stored numbers, so a default test run does not rerun NumPyro, and a change to a
model or its data fails until this script is run again. The tests' own assertions run as well.

Run with the project's environment, from the repository's root::

    .venv/bin/python tests/reference/make_numpyro_posteriors.py
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "numpyro_posteriors.json"

if __name__ == "__main__":
    OUT.write_text("{}\n")  # this script's own file: entries no test asks for are dropped
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/test_glm.py",
        "tests/test_glm_matrix.py",
        "-k",
        "numpyros_sampler",
        "-m",
        "not gpu",  # the slow pairs too
        "-n",
        "0",  # one process writes the file
        "-p",
        "no:cacheprovider",
        "-q",
    ]
    env = os.environ | {"BAYES_REG_RECORD_NUMPYRO": "1"}
    sys.exit(subprocess.run(command, cwd=ROOT, env=env).returncode)
