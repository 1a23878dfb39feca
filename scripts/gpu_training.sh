#!/usr/bin/env bash
# Training on a lent GPU machine (the device tool's; docs/model_card.md, phase 12 and Next). That machine starts
# bare, reaches no network and keeps nothing, and its image has PyTorch (numpy 2) but not Anny, moderngl or
# MediaPipe, so this script brings its own: the repository's ignored folders .dev/, .gl/ and .mp/, which
# `prepare` fills on the development machine. It makes the training data there (renders on the GPU through EGL,
# 15 CPU workers, BlazePose's keypoints as the runtime's), then trains end to end on the GPU.
#
# On the development machine, from the repository root with the project's venv active:
#   scripts/gpu_training.sh prepare         fill .dev/ (Anny's installed files without its examples and SOMA
#                                           data; cp312 wheels of roma, moderngl, glcontext, trimesh and of
#                                           what MediaPipe's drawing code imports, matplotlib and its
#                                           dependencies, at the constraints' versions; Anny's caches of the
#                                           coarse topologies, which need Warp to build), .gl/ (Debian's GL
#                                           loaders) and .mp/ (cp312 wheels of MediaPipe, numpy 1.26 and the
#                                           rest of MediaPipe's pose solution's imports)
# On the GPU machine, from the repository root, one or more stages per call of the device tool; each carry
# stays under the device tool's 64 MiB, and the machine keeps what setup installed only while calls follow
# within its idle time (30 s):
#   scripts/gpu_training.sh setup           (carry .dev and .gl) install what is carried, copy the code,
#                                           build Anny's cache
#   scripts/gpu_training.sh mediapipe       (carry .mp) install MediaPipe beside numpy 1.26 in a folder that
#                                           only the synth stages put first on the path, and run BlazePose once
#   scripts/gpu_training.sh smoke           8 sequences + 40 CUDA training steps: errors and step rate early
#   scripts/gpu_training.sh synth SECONDS   validation data, then training data until SECONDS have passed
#                                           (whole shards are kept; the manifest lists only finished ones)
#   scripts/gpu_training.sh train STEPS     the training with STEPS steps, in the background
#   scripts/gpu_training.sh collect DIR     copy the run's weights and logs and the data manifests to DIR
# Settings: LIHMR_GPU_SYNTH_CONFIG (default config/synth_wide.yaml: BlazePose's keypoints where it finds the
# person, as all CPU data since phase 13; phase 12 used config/synth_wide_noise.yaml, and no noise model, not
# even the structured one, trains like BlazePose's keypoints: docs/model_card.md, phase 14),
# LIHMR_GPU_TRAIN_CONFIG (default config/train_phase12.yaml), LIHMR_GPU_INIT (a checkpoint to start from,
# copied to the work folder by any stage that sees it set, so carry it in a call with room, e.g. the mediapipe
# one; default the config's init_weights), LIHMR_GPU_WORK (default /root/lihmr_gpu; background stages log
# there). Paths are relative to the repository root.
#
# What the twelfth session ran (as scripts/gpu_phase12.sh, noise-model keypoints): setup; synth 330 in the
# background while smoke ran; synth 240 (resumed, with OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=MKL_NUM_THREADS=1
# set by hand, which lihmr synth now does); train 8000; collect. The mediapipe stage has not run on a GPU
# machine yet; on this machine the wheels it installs, with only a cv2 beside them, ran BlazePose (the
# fifteenth session).
set -euo pipefail

stage="${1:?usage: scripts/gpu_training.sh prepare|setup|mediapipe|smoke|synth SECONDS|train STEPS|collect DIR}"
if [ "$stage" = prepare ]; then
    mkdir -p .dev/anny_cache .dev/mediapipe_plot .gl .mp
    site="$(python3 -c 'import anny, pathlib; print(pathlib.Path(anny.__file__).parent.parent)')"
    tar --exclude=__pycache__ --exclude=anny/examples --exclude=anny/data/soma --exclude=anny/data/cached/soma.pth \
        -cJf .dev/anny.tar.xz -C "$site" anny anny-0.6.2.dist-info
    download_cp312() {  # download_cp312 FOLDER NAME...: the constraints' versions, no dependencies
        local folder="$1" pins=() name
        shift
        for name in "$@"; do pins+=("$(grep -i "^$name==" requirements/constraints.txt)"); done
        python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
            --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
            --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d "$folder" "${pins[@]}"
    }
    download_cp312 .dev roma moderngl glcontext trimesh
    # What `import mediapipe` and its pose solution load, measured with `python -X importtime` (jax, jaxlib,
    # sounddevice and sentencepiece are declared but not imported by it); the image's cv2 serves. Split so
    # that each call's carry stays under 64 MiB: mediapipe + numpy are 54 MB, the plotting part 24 MB.
    download_cp312 .dev/mediapipe_plot matplotlib pillow fonttools kiwisolver contourpy cycler pyparsing \
        python-dateutil packaging
    download_cp312 .mp mediapipe numpy protobuf attrs absl-py flatbuffers
    python3 -c 'from lihmr_ros.body.anny_model import AnnyBody; AnnyBody("notoes_collapse3pc", full_body=AnnyBody())'
    # Anny names its caches by hash; the coarse topologies' compact ones are the small files (the full
    # topology's, about 50 MB, builds without Warp on the GPU machine in seconds).
    find "${ANNY_CACHE_DIR:-$HOME/.cache/lihmr/anny}" -name 'build_compact_model_data_*.safetensors' -size -16M \
        -exec cp {} .dev/anny_cache/ \;
    mkdir -p /tmp/amd64/partial
    apt_options=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
    apt-get "${apt_options[@]}" update >/dev/null
    (cd .gl && apt-get "${apt_options[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
    du -sh .dev .gl .mp
    exit 0
fi

# The GPU machine's environment: carried packages first on the path, the code copied by setup (so a running
# stage never sees a newer checkout), Anny's cache in the work folder, the driver's EGL.
work="${LIHMR_GPU_WORK:-/root/lihmr_gpu}"
synth_config="${LIHMR_GPU_SYNTH_CONFIG:-config/synth_wide.yaml}"
train_config="${LIHMR_GPU_TRAIN_CONFIG:-config/train_phase12.yaml}"
mkdir -p "$work"
# The starting checkpoint travels with whichever call has room in its carry (setup's is full; .mp + 10 MB fits).
if [ -n "${LIHMR_GPU_INIT:-}" ]; then cp "$LIHMR_GPU_INIT" "$work/init.safetensors"; fi
export PYTHONPATH="/tmp/site:$work/src"
# MediaPipe and its numpy 1.26 come first on the path of the data stages only: training keeps the image's numpy.
mediapipe_site=/tmp/site_mp
synth_env=(env PYTHONPATH="$mediapipe_site:$PYTHONPATH")
export ANNY_CACHE_DIR="$work/anny_cache"
nvidia_egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json  # the driver's EGL, where glvnd finds it
if [ -f "$nvidia_egl" ]; then export __EGL_VENDOR_LIBRARY_FILENAMES="$nvidia_egl"; fi
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_DOMAIN_ID=77 PYTHONUNBUFFERED=1
lihmr=(python3 -c 'import sys; from lihmr_ros.cli import main; sys.exit(main())')  # the copied code's CLI
synth=("${synth_env[@]}" "${lihmr[@]}" synth)

install_wheels() {  # install_wheels TARGET WHEEL...: carried wheels, offline, replacing what TARGET holds of them
    local target="$1"
    shift
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$target" "$@"
}

write_train_config() {  # write_train_config FILE [YAML LINE...]: the chosen recipe, from the chosen weights
    local file="$1"
    shift
    {
        echo "extends: $work/src/$train_config"
        if [ -f "$work/init.safetensors" ]; then echo "init_weights: $work/init.safetensors"; fi
        printf '%s\n' "$@"
    } >"$file"
}

case "$stage" in
setup)
    for package in .gl/*.deb; do dpkg -x "$package" /; done
    ldconfig
    install_wheels /tmp/site .dev/*.whl
    tar -xJf .dev/anny.tar.xz -C /tmp/site
    cache="$ANNY_CACHE_DIR/v$(python3 -c 'from anny.models.model_data import CURRENT_DATA_VERSION as v; print(v)')"
    mkdir -p "$cache" && cp .dev/anny_cache/*.safetensors "$cache/"
    rm -rf "$work/src" && mkdir -p "$work/src" && cp -r lihmr_ros config "$work/src/"
    install_wheels "$mediapipe_site" .dev/mediapipe_plot/*.whl
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
mediapipe)
    install_wheels "$mediapipe_site" .mp/*.whl
    # The image's cv2 and torch were built against numpy 2; both must load beside numpy 1.26, and BlazePose run.
    "${synth_env[@]}" python3 - <<'EOF'
import time
import cv2
import numpy
import torch
from lihmr_ros.keypoints.blazepose import BlazePoseEstimator

print("numpy", numpy.__version__, "| cv2", cv2.__version__, "| torch", torch.__version__)
estimator = BlazePoseEstimator(tracking=False)
image = numpy.full((480, 640, 3), 90, numpy.uint8)
estimator.estimate(image)
started = time.perf_counter()
for _ in range(20):
    estimator.estimate(image)
print(f"BlazePose: {(time.perf_counter() - started) / 20 * 1000:.1f} ms per 640x480 frame (no person in it)")
EOF
    ;;
smoke)
    cd "$work"
    rm -rf smoke smoke_val smoke_run
    "${synth[@]}" --out smoke --sequences 8 --seed 90 --split train --config src/"$synth_config" \
        --workers 1 --no-progress
    "${synth[@]}" --out smoke_val --sequences 2 --seed 91 --split test --config src/"$synth_config" \
        --workers 1 --no-progress
    write_train_config smoke.yaml "data: {train: smoke, validation: smoke_val}" "log_every: 10" \
        "validate_every: 40" "checkpoint_every: 40"
    "${lihmr[@]}" train --config smoke.yaml --out smoke_run --max-steps 40 --no-progress
    cut -d, -f1-4 smoke_run/log.csv
    ;;
synth)
    seconds="${2:?synth needs SECONDS}"
    cd "$work"
    "${synth[@]}" --out data/synth_gpu_val --sequences 24 --seed 1001 --split test \
        --config src/"$synth_config" --workers 8 --no-progress
    # lihmr synth gives each worker one BLAS / OpenMP thread (since the twelfth session; the first attempt there,
    # without, made 120 sequences in 330 s, and 2,456 in 240 s once the variables were set by hand).
    # More sequences than the time allows; `timeout` ends the run and the finished shards stay listed.
    timeout "$seconds" "${synth[@]}" \
        --out data/synth_gpu --sequences 20000 --seed 23 --split train --config src/"$synth_config" \
        --workers "${LIHMR_GPU_WORKERS:-15}" --no-progress || true
    pkill -f 'synth --out data/synth_gpu ' || true  # pool workers outlive a parent ended by a signal
    python3 -c "import json; print('training data:', json.load(open('data/synth_gpu/manifest.json'))['counts'])"
    ;;
train)
    steps="${2:?train needs STEPS}"
    cd "$work"
    write_train_config train.yaml "steps: $steps"
    rm -rf runs/gpu
    setsid nohup "${lihmr[@]}" train \
        --config train.yaml --out runs/gpu --no-progress >train.log 2>&1 </dev/null &
    echo "training started in the background (pid $!), log $work/train.log"
    ;;
collect)
    target="${2:?collect needs DIR}"
    mkdir -p "$target"
    cd "$work"
    for name in best.safetensors last.safetensors log.csv; do
        if [ -f "runs/gpu/$name" ]; then cp "runs/gpu/$name" "$target/$name"; fi
    done
    cp train.yaml "$target/train.yaml" 2>/dev/null || true
    cp train.log "$target/train.log" 2>/dev/null || true
    cp data/synth_gpu/manifest.json "$target/synth_gpu_manifest.json" 2>/dev/null || true
    cp data/synth_gpu_val/manifest.json "$target/synth_gpu_val_manifest.json" 2>/dev/null || true
    ;;
*)
    echo "unknown stage $stage" >&2
    exit 2
    ;;
esac
