#!/usr/bin/env bash
# Phase 12 of the shipped weights' training, on a lent GPU machine (the device tool's H100 of the twelfth
# session; docs/model_card.md, phase 12). That machine starts bare, reaches no network and keeps nothing, and
# its image has PyTorch (numpy 2) but not Anny, moderngl or MediaPipe, so this script brings its own: the
# repository's ignored folders .dev/ and .gl/, which `prepare` fills on the development machine. It makes the
# training data there (renders on the GPU through EGL, 15 CPU workers, keypoints from the fitted noise model,
# since MediaPipe needs numpy < 2), then trains end to end on the GPU (config/train_phase12.yaml).
#
# On the development machine, from the repository root with the project's venv active:
#   scripts/gpu_phase12.sh prepare          fill .dev/ (Anny's installed files without its examples and SOMA
#                                           data; cp312 wheels of roma, moderngl, glcontext, trimesh at the
#                                           constraints' versions; Anny's caches of the coarse topologies,
#                                           which need Warp to build) and .gl/ (Debian's GL loaders)
# On the GPU machine, from the repository root, one or more stages per call of the device tool
# (carry .dev and .gl):
#   scripts/gpu_phase12.sh setup            install what is carried, copy the code, build Anny's cache
#   scripts/gpu_phase12.sh smoke            8 sequences + 40 CUDA training steps: errors and step rate early
#   scripts/gpu_phase12.sh synth SECONDS    validation data, then training data until SECONDS have passed
#                                           (whole shards are kept; the manifest lists only finished ones)
#   scripts/gpu_phase12.sh train STEPS      the phase-12 training with STEPS steps, in the background
#   scripts/gpu_phase12.sh collect DIR      copy the run's weights and logs and the data manifests to DIR
# The data's settings are config/synth_wide_noise.yaml, phase 12's (LIHMR_GPU_SYNTH_CONFIG, relative to the
# repository root, overrides; no noise model, not even the structured one, trains like BlazePose's keypoints:
# docs/model_card.md, phase 14). The work folder is /root/lihmr_gpu (LIHMR_GPU_WORK overrides); background
# stages log there. What the
# twelfth session ran: setup; synth 330 in the background while smoke ran; synth 240 (resumed, with
# OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=MKL_NUM_THREADS=1 set by hand, which lihmr synth now does); train 8000;
# collect.
set -euo pipefail

stage="${1:?usage: scripts/gpu_phase12.sh prepare|setup|smoke|synth SECONDS|train STEPS|collect DIR}"
if [ "$stage" = prepare ]; then
    mkdir -p .dev/anny_cache .gl
    site="$(python3 -c 'import anny, pathlib; print(pathlib.Path(anny.__file__).parent.parent)')"
    tar --exclude=__pycache__ --exclude=anny/examples --exclude=anny/data/soma --exclude=anny/data/cached/soma.pth \
        -cJf .dev/anny.tar.xz -C "$site" anny anny-0.6.2.dist-info
    wheels=()
    for name in roma moderngl glcontext trimesh; do wheels+=("$(grep -i "^$name==" requirements/constraints.txt)"); done
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        --platform manylinux1_x86_64 -d .dev "${wheels[@]}"
    python3 -c 'from lihmr_ros.body.anny_model import AnnyBody; AnnyBody("notoes_collapse3pc", full_body=AnnyBody())'
    # Anny names its caches by hash; the coarse topologies' compact ones are the small files (the full
    # topology's, about 50 MB, builds without Warp on the GPU machine in seconds).
    find "${ANNY_CACHE_DIR:-$HOME/.cache/lihmr/anny}" -name 'build_compact_model_data_*.safetensors' -size -16M \
        -exec cp {} .dev/anny_cache/ \;
    mkdir -p /tmp/amd64/partial
    apt_options=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
    apt-get "${apt_options[@]}" update >/dev/null
    (cd .gl && apt-get "${apt_options[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
    du -sh .dev .gl
    exit 0
fi

# The GPU machine's environment: carried packages first on the path, the code copied by setup (so a running
# stage never sees a newer checkout), Anny's cache in the work folder, the driver's EGL.
work="${LIHMR_GPU_WORK:-/root/lihmr_gpu}"
synth_config="${LIHMR_GPU_SYNTH_CONFIG:-config/synth_wide_noise.yaml}"
mkdir -p "$work"
export PYTHONPATH="/tmp/site:$work/src"
export ANNY_CACHE_DIR="$work/anny_cache"
nvidia_egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json  # the driver's EGL, where glvnd finds it
if [ -f "$nvidia_egl" ]; then export __EGL_VENDOR_LIBRARY_FILENAMES="$nvidia_egl"; fi
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_DOMAIN_ID=77 PYTHONUNBUFFERED=1
lihmr=(python3 -c 'import sys; from lihmr_ros.cli import main; sys.exit(main())')  # the copied code's CLI

case "$stage" in
setup)
    for package in .gl/*.deb; do dpkg -x "$package" /; done
    ldconfig
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .dev/*.whl
    tar -xJf .dev/anny.tar.xz -C /tmp/site
    cache="$ANNY_CACHE_DIR/v$(python3 -c 'from anny.models.model_data import CURRENT_DATA_VERSION as v; print(v)')"
    mkdir -p "$cache" && cp .dev/anny_cache/*.safetensors "$cache/"
    rm -rf "$work/src" && mkdir -p "$work/src" && cp -r lihmr_ros config "$work/src/"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    python3 - <<'EOF'
import time
import moderngl
import torch
from lihmr_ros.body.anny_model import AnnyBody

started = time.perf_counter()
full = AnnyBody()
AnnyBody("notoes_collapse3pc", full_body=full)
print(f"Anny cache built in {time.perf_counter() - started:.0f} s")
context = moderngl.create_standalone_context(backend="egl")
print("EGL:", context.info["GL_RENDERER"], "| torch", torch.__version__, "CUDA", torch.cuda.is_available())
EOF
    ;;
smoke)
    cd "$work"
    rm -rf smoke smoke_val smoke_run
    "${lihmr[@]}" synth --out smoke --sequences 8 --seed 90 --split train --config src/"$synth_config" \
        --workers 1 --no-progress
    "${lihmr[@]}" synth --out smoke_val --sequences 2 --seed 91 --split test --config src/"$synth_config" \
        --workers 1 --no-progress
    cat > smoke.yaml <<EOF
extends: $work/src/config/train_phase12.yaml
data: {train: smoke, validation: smoke_val}
init_weights: $work/src/lihmr_ros/weights/lihmr_default.safetensors
log_every: 10
validate_every: 40
checkpoint_every: 40
EOF
    "${lihmr[@]}" train --config smoke.yaml --out smoke_run --max-steps 40 --no-progress
    cut -d, -f1-4 smoke_run/log.csv
    ;;
synth)
    seconds="${2:?synth needs SECONDS}"
    cd "$work"
    "${lihmr[@]}" synth --out data/synth_gpu_val --sequences 24 --seed 1001 --split test \
        --config src/"$synth_config" --workers 8 --no-progress
    # lihmr synth gives each worker one BLAS / OpenMP thread (since the twelfth session; the first attempt there,
    # without, made 120 sequences in 330 s, and 2,456 in 240 s once the variables were set by hand).
    # More sequences than the time allows; `timeout` ends the run and the finished shards stay listed.
    timeout "$seconds" "${lihmr[@]}" synth \
        --out data/synth_gpu --sequences 20000 --seed 23 --split train --config src/"$synth_config" \
        --workers "${LIHMR_GPU_WORKERS:-15}" --no-progress || true
    pkill -f 'synth --out data/synth_gpu ' || true  # pool workers outlive a parent ended by a signal
    python3 -c "import json; print('training data:', json.load(open('data/synth_gpu/manifest.json'))['counts'])"
    ;;
train)
    steps="${2:?train needs STEPS}"
    cd "$work"
    cat > phase12.yaml <<EOF
extends: $work/src/config/train_phase12.yaml
init_weights: $work/src/lihmr_ros/weights/lihmr_default.safetensors
steps: $steps
EOF
    rm -rf runs/lihmr_phase12
    setsid nohup "${lihmr[@]}" train \
        --config phase12.yaml --no-progress >train.log 2>&1 </dev/null &
    echo "training started in the background (pid $!), log $work/train.log"
    ;;
collect)
    target="${2:?collect needs DIR}"
    mkdir -p "$target"
    cd "$work"
    for name in best.safetensors last.safetensors log.csv; do
        if [ -f "runs/lihmr_phase12/$name" ]; then cp "runs/lihmr_phase12/$name" "$target/$name"; fi
    done
    cp train.log "$target/train.log" 2>/dev/null || true
    cp data/synth_gpu/manifest.json "$target/synth_gpu_manifest.json" 2>/dev/null || true
    cp data/synth_gpu_val/manifest.json "$target/synth_gpu_val_manifest.json" 2>/dev/null || true
    ;;
*)
    echo "unknown stage $stage" >&2
    exit 2
    ;;
esac
