#!/usr/bin/env bash
# The GPU checks in one run, for a machine with an NVIDIA GPU, JAX with CUDA and PyTorch with
# CUDA, with or without internet:
#   1. tests/test_gpu.py (the dropout network and every approximation on the GPU against the
#      CPU; a wide net's 1,000 MC passes over 10,000 points within memory);
#   2. the dropout benchmark at the GPU budgets of benchmarks/dropout/README.md, PyTorch on
#      CUDA from the same interpreter.
# Usage, from anywhere: bash benchmarks/gpu/check.sh OUT [benchmark options]
# OUT is a new or empty folder; options after it go to benchmarks/dropout/run.py after the GPU
# budgets, so they override them (smaller budgets for a dry run on a CPU). PYTHON picks the
# interpreter (default python3), TORCH_PYTHON PyTorch's (default: the same). Wheels in .whl/
# (wheels.sh) are installed into a temporary folder, never into the interpreter's packages.
set -uo pipefail
out=$(realpath -m "${1:?usage: bash benchmarks/gpu/check.sh OUT}")
python=${PYTHON:-python3}
torch_python=${TORCH_PYTHON:-$python}
shift
if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
  echo "$out is not empty: give a new or empty folder" >&2
  exit 2
fi
mkdir -p "$out"
cd "$(dirname "$0")/../.." || exit 1
if compgen -G ".whl/*.whl" > /dev/null; then
  site=$(mktemp -d)
  trap 'rm -rf "$site"' EXIT
  "$python" -m pip install --quiet --no-index --no-deps --no-compile --target "$site" .whl/*.whl || exit 1
  export PYTHONPATH=$site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}

{
  nvidia-smi -L
  JAX_PLATFORMS='' "$python" -c 'import sys, jax
print("python", sys.version.split()[0], "| jax", jax.__version__, jax.devices())'
  "$torch_python" -c 'import torch; print("torch", torch.__version__, "| CUDA", torch.cuda.is_available())'
} > "$out/machine.txt" 2>&1
cat "$out/machine.txt"

# The empty JAX_PLATFORMS lets JAX pick the GPU (the test configuration otherwise pins the CPU).
JAX_PLATFORMS='' timeout 180 "$python" -m pytest -m gpu tests/test_gpu.py -p no:cacheprovider \
  -q > "$out/tests.log" 2>&1
tests=$?
tail -n 5 "$out/tests.log"

timeout 360 "$python" benchmarks/dropout/run.py --torch-python "$torch_python" --out "$out/dropout" \
  --small-epochs 200 --wide-epochs 50 --small-mc-passes 1000 --wide-mc-passes 1000 \
  --torch-threads 0 "$@" > "$out/benchmark.log" 2>&1
benchmark=$?
tail -n 30 "$out/benchmark.log"

echo "tests exit $tests, benchmark exit $benchmark; logs and results in $out"
[ "$tests" -eq 0 ] && [ "$benchmark" -eq 0 ]
