#!/usr/bin/env bash
# The GPU checks, in one run, for a machine with a CUDA GPU and no network (the `device` tool):
#   1. lesson 08 executed with its full preset (`python -m autograder outputs`, as `make outputs`),
#      the executed notebook copied to $OUT;
#   2. the clipping benchmark of lessons 05 and 07 / issue 11 on the GPU, then on the CPU with 2 threads
#      and with all cores.
# That machine's python3 has PyTorch, NumPy, matplotlib and tqdm; the Jupyter packages it lacks travel
# as wheels in .whl/ (pinned as in constraints.txt; see README, "Running the GPU checks").
# GPU_CHECKS_QUICK=1 runs everything at its quick size (a smoke test of this script on any machine).
set -uo pipefail
OUT=${OUT:-gpu-results}
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT"
if compgen -G ".whl/*.whl" >/dev/null; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/gpu-site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/gpu-site
fi
export PYTHONUNBUFFERED=1 JUPYTER_PLATFORM_DIRS=1
# The benchmark imports the autograder package from the repository (the course venv installs it).
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
if [ "${GPU_CHECKS_QUICK:-0}" = 1 ]; then size=(--quick --min-run-time 0.2); preset=COURSE_QUICK=1
else size=(--min-run-time 1); preset=COURSE_FULL=1; fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tee "$OUT/gpu.txt"
"$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'

status=0
started=$(date +%s)
env "$preset" timeout 480 "$PYTHON" -m autograder outputs 08_rnn_on_gpu || status=1
cp solutions/08_rnn_on_gpu/rnn_on_gpu.ipynb "$OUT/"
echo "lesson 08: $(( $(date +%s) - started )) s wall time"

bench() {  # name, then the benchmark's arguments
  local name=$1; shift
  timeout 90 "$PYTHON" benchmarks/clip_grad_norm.py "${size[@]}" "$@" 2>&1 | tee "$OUT/bench-$name.txt" || status=1
}
if "$PYTHON" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then bench cuda --device cuda; fi
bench cpu-2-threads --threads 2
bench cpu-all-threads --threads "$(nproc)"
exit $status
