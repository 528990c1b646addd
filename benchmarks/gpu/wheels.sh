#!/usr/bin/env bash
# Download, into .whl/ at the repository root, the pure-Python packages bayes_reg needs that a
# stock CUDA image with JAX, NumPyro, optax, xarray, pandas, formulaic, h5py, rich and PyTorch
# lacks: ArviZ 1.x and h5netcdf. Run where pip reaches PyPI; check.sh installs them offline.
# Versions are this environment's, so the GPU machine runs what the CPU tests ran.
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${PYTHON:-.venv/bin/python}
names=(arviz arviz-base arviz-stats arviz-plots h5netcdf xarray-einstats)
pins=$("$python" -c 'import sys
from importlib.metadata import version
print(" ".join(f"{n}=={version(n)}" for n in sys.argv[1:]))' "${names[@]}")
# shellcheck disable=SC2086  # one argument per pin
"$python" -m pip download --quiet --no-deps --only-binary=:all: --dest .whl $pins
ls .whl
