#!/usr/bin/env bash
# The GPU measurements of docs/benchmarks.md in one command, for a lent GPU
# machine (see ../shared/gpu/README.md: Python 3.12, CUDA torch, the mm
# stack as wheels in .gpu_wheels/, no package registry):
#
#   device run, carry [".gpu_wheels"], command:
#     bash scripts/device_benchmark.sh
#
# 1. installs .gpu_wheels/*.whl (if present) into /tmp/site;
# 2. runs the tests that have CUDA variants (primitives, decoding,
#    estimator, head, training layout), CPU and CUDA, if pytest is there;
# 3. runs tools/benchmark.py --device cuda (decoding per stage on the CPU
#    and on CUDA, r101_coco.py training step and end-to-end inference next
#    to the backbone alone).
#
# Everything lands in $OUT (default /tmp/personlab_device): pytest.log,
# benchmark.log and benchmark.json (the JSON line for docs/benchmarks.md).
# About 5-7 minutes on an H100 (the compiled decoder's first image takes
# ~2 minutes of it); BENCH_ARGS adds benchmark options, e.g.
# BENCH_ARGS="--repeats 5".
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/personlab_device}"
PY="${PYTHON:-python3}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1

if compgen -G ".gpu_wheels/*.whl" >/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile \
        --target /tmp/site .gpu_wheels/*.whl || exit 1
    export PYTHONPATH="$PWD:/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
else
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
"$PY" -c 'import torch; assert torch.cuda.is_available(), "no CUDA device"; print(torch.__version__, torch.cuda.get_device_name(0))' \
    || exit 1

status=0
if "$PY" -c 'import pytest' 2>/dev/null; then
    "$PY" -m pytest -q -p no:cacheprovider tests/test_functional \
        tests/test_decoders/test_personlab_decoder.py tests/test_models \
        2>&1 | tee "$OUT/pytest.log"
    status=${PIPESTATUS[0]}
else
    echo 'pytest is not installed here: CUDA tests skipped' | tee "$OUT/pytest.log"
fi

# shellcheck disable=SC2086
"$PY" tools/benchmark.py --sections decode model --device cuda \
    --repeats 20 --out "$OUT/benchmark.json" ${BENCH_ARGS:-} 2>&1 \
    | tee "$OUT/benchmark.log"
bench=${PIPESTATUS[0]}
[[ $status -ne 0 ]] && echo "CUDA tests failed (exit $status)"
[[ $bench -ne 0 ]] && echo "benchmark failed (exit $bench)"
exit $(( status != 0 || bench != 0 ))
