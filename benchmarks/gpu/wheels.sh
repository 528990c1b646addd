#!/usr/bin/env bash
# Download, into .whl/ at the repository root, the pure-Python packages bayes_reg needs that a
# stock CUDA image with JAX, NumPyro, optax, xarray, pandas, formulaic, h5py, rich and PyTorch
# lacks: ArviZ 1.x and h5netcdf. Run where pip reaches PyPI; check.sh installs them offline.
# Versions are this environment's, so the GPU machine runs what the CPU tests ran.
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${PYTHON:-.venv/bin/python}
names=(arviz arviz-base arviz-stats arviz-plots h5netcdf xarray-einstats)
# check.sh installs every wheel in .whl/, and two versions of one package stop that install:
# refuse, naming them, rather than add a second version (the folder may hold files of others).
pins=$("$python" -c 'import pathlib, sys
from importlib.metadata import version
pins = {n: version(n) for n in sys.argv[1:]}
stale = []
for wheel in pathlib.Path(".whl").glob("*.whl"):
    name, have = wheel.name.split("-")[:2]
    if pins.get(name.replace("_", "-").lower(), have) != have:
        stale.append(wheel.name)
if stale:
    sys.exit(f".whl/ holds other versions: {stale}; remove them and run this again")
print(" ".join(f"{n}=={v}" for n, v in pins.items()))' "${names[@]}")
# shellcheck disable=SC2086  # one argument per pin
"$python" -m pip download --quiet --no-deps --only-binary=:all: --dest .whl $pins
ls .whl
