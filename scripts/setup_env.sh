#!/usr/bin/env bash
# Build the project's virtual environment in .venv/ (idempotent).
#
# Steps, each skipped when already done:
#   1. python3 -m venv .venv
#   2. build tools, torch + torchvision (requirements/torch.txt), runtime deps
#   3. mmcv 2.1.0 with its compiled ops: built once from the PyPI sdist with its
#      C++ standard raised to C++20 (torch 2.14's headers need it) and cached
#      OUTSIDE the repo, keyed by Python version, torch version and machine, in
#        ${PERSONLAB_MM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/personlab_mm}/mmcv/<key>/
#      pip's own wheel cache does not key on torch, so it is bypassed.
#   4. mmpose, mmdet, mmsegmentation, openmim with --no-deps
#      (requirements/openmmlab.txt)
#   5. this package, editable, plus test requirements
#   6. a smoke check that mmpose/mmdet register and both CocoMetrics import
#
# Environment variables:
#   PYTHON               interpreter used to create the venv (default: python3)
#   PERSONLAB_MM_CACHE   cache directory for the compiled mmcv wheel
#   MAX_JOBS             parallel compile jobs for mmcv (default: nproc)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"
CACHE="${PERSONLAB_MM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/personlab_mm}"
MMCV_VERSION="$(sed -n 's/^mmcv==\([0-9.]*\).*/\1/p' requirements/mmcv.txt)"
STAMP="$VENV/.personlab_mm_env"

log() { printf '[setup_env %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
start=$(date +%s)

# The stamp records what the venv was built from: the requirement files, the
# installers and the list of tools/configs (an editable install carries one
# mim forwarder per file, so a new config needs a reinstall).
want_stamp="$( (cat requirements/*.txt setup.py scripts/setup_env.sh;
               find tools configs -name '*.py' | sort) | sha256sum | cut -d' ' -f1)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want_stamp" ]]; then
    log "environment up to date: $VENV"
    exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating $VENV with $($PYTHON --version)"
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)

log "build tools"
"${PIP[@]}" install -q --upgrade "pip<26" -r requirements/build.txt

log "torch + torchvision (requirements/torch.txt)"
"${PIP[@]}" install -q -r requirements/torch.txt -r requirements/build.txt

log "runtime dependencies (requirements/runtime.txt)"
"${PIP[@]}" install -q -r requirements/runtime.txt -r requirements/torch.txt -r requirements/build.txt

# ---------------------------------------------------------------- mmcv (ops)
key="$("$PY" - <<'EOF'
import platform, sys, torch
print(f"cp{sys.version_info.major}{sys.version_info.minor}-torch{torch.__version__}-{platform.machine()}")
EOF
)"
wheel_dir="$CACHE/mmcv/$key"
have_mmcv="$("$PY" -c "import mmcv, mmcv.ops; print(mmcv.__version__)" 2>/dev/null || true)"
if [[ "$have_mmcv" != "$MMCV_VERSION" ]]; then
    wheel="$(ls "$wheel_dir"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
    if [[ -z "$wheel" ]]; then
        log "compiling mmcv $MMCV_VERSION with ops for $key (about 14 min on 2 cores; cached afterwards in $wheel_dir)"
        build="$(mktemp -d)"
        trap 'rm -rf "$build"' EXIT
        "${PIP[@]}" download -q --no-deps --no-build-isolation --no-binary :all: "mmcv==$MMCV_VERSION" -d "$build"
        tar -xzf "$build"/mmcv-"$MMCV_VERSION".tar.gz -C "$build"
        src="$build/mmcv-$MMCV_VERSION"
        grep -q -- '-std=c++17' "$src/setup.py" || { echo "mmcv setup.py has no -std=c++17 flag to raise" >&2; exit 1; }
        sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"
        (cd "$src" && MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
            "${PIP[@]}" wheel -q --no-build-isolation --no-deps -w "$build/dist" .)
        mkdir -p "$wheel_dir"
        built="$(ls "$build"/dist/mmcv-*.whl)"
        cp "$built" "$wheel_dir/.tmp.whl" && mv "$wheel_dir/.tmp.whl" "$wheel_dir/$(basename "$built")"
        wheel="$wheel_dir/$(basename "$built")"
    else
        log "mmcv from cache: $wheel"
    fi
    "${PIP[@]}" install -q --no-deps --force-reinstall "$wheel"
fi

log "OpenMMLab packages --no-deps (requirements/openmmlab.txt)"
"${PIP[@]}" install -q --no-deps -r requirements/openmmlab.txt

log "personlab_mm (editable) + test requirements"
"${PIP[@]}" install -q --no-deps --no-build-isolation -e .
"${PIP[@]}" install -q -r requirements/tests.txt -r requirements/torch.txt -r requirements/build.txt

log "smoke check"
"$PY" - <<'EOF'
import mmcv.ops  # noqa: F401  compiled ops present
from mmpose.utils import register_all_modules as reg_pose
from mmdet.utils import register_all_modules as reg_det
reg_pose(init_default_scope=False)
reg_det(init_default_scope=False)
from mmpose.evaluation.metrics import CocoMetric as PoseCocoMetric  # noqa: F401
from mmdet.evaluation.metrics import CocoMetric as DetCocoMetric  # noqa: F401
import mmseg.models  # noqa: F401  PanoNet's ICNet / ICNeck
import personlab_mm  # noqa: F401
import mim  # noqa: F401
print("mmpose/mmdet registered, both CocoMetrics and mmseg import, personlab_mm imports")
EOF

echo "$want_stamp" > "$STAMP"
log "environment ready in $(( $(date +%s) - start )) s: $VENV"
