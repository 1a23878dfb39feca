#!/usr/bin/env bash
# One-command set-up of lihmr_ros in a Python virtual environment (the pip route).
#
#   scripts/setup.sh        (or: make setup)
#
# 1. Debian packages the project needs (compiler and cmake for the messages,
#    Mesa EGL for offscreen rendering, opencv-doc / labelme-examples for real
#    test images), installed only when dpkg says they are missing.
# 2. .venv (Python 3.11, the ABI of the ROS 2 wheels) with every Python package
#    pinned by requirements/constraints.txt: torch first so the CPU wheel wins,
#    then the ROS 2 code generators, then mediapipe without its dependencies.
# 3. lihmr_ros itself, editable (edits under lihmr_ros/ apply without
#    reinstalling), which builds the ROS 2 messages from msg/ through setup.py.
# 4. Anny's model cache, built once per machine.
#
# Idempotent: steps 2-4 are skipped while stamp files keyed by hashes of their
# inputs match, so a second run takes seconds. Never touches the system Python.
#
# Environment: LIHMR_PYTHON (interpreter for a new venv, default python3.11),
# LIHMR_VENV (default <repo>/.venv), ANNY_CACHE_DIR (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/lihmr/anny).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${LIHMR_VENV:-$REPO_ROOT/.venv}
PYTHON=${LIHMR_PYTHON:-python3.11}
REQUIREMENTS=$REPO_ROOT/requirements
CONSTRAINTS=$REQUIREMENTS/constraints.txt
STAMP_DIR=$VENV/.lihmr-setup
export ANNY_CACHE_DIR=${ANNY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lihmr/anny}

APT_PACKAGES=(
  cmake g++ make                      # build the ROS 2 messages
  libegl1 libegl-mesa0 libgl1-mesa-dri libgl1 libglx-mesa0 libgles2  # offscreen rendering
  opencv-doc labelme-examples         # real images and video of people for tests
)

log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

# Hash of the named files' contents and names (relative to the repo root), for stamps.
hash_inputs() { sha256sum "$@" | sha256sum | cut -d' ' -f1; }
stamp_matches() { [[ -f $STAMP_DIR/$1 && $(cat "$STAMP_DIR/$1") == "$2" ]]; }
write_stamp() { mkdir -p "$STAMP_DIR" && printf '%s' "$2" > "$STAMP_DIR/$1"; }

pip_install() {
  # -qq: this machine's pip config names local indexes that lack most packages
  # and would log a warning for each; errors are still shown.
  "$VENV/bin/python" -m pip install -qq --progress-bar off --constraint "$CONSTRAINTS" "$@"
}

# The interpreter the venv is (or will be) based on, with symlinks resolved.
base_python() {
  if [[ -x $VENV/bin/python ]]; then
    readlink -f "$VENV/bin/python"
  else
    readlink -f "$(command -v "$PYTHON")" 2> /dev/null || true
  fi
}

install_debian_packages() {
  local wanted=("${APT_PACKAGES[@]}")
  # Debian's own Python needs its venv module and headers (the messages
  # compile against Python.h); a pyenv or other self-built Python has both.
  [[ $(base_python) == /usr/bin/* ]] && wanted+=(python3.11-venv python3.11-dev)
  if ! command -v dpkg-query > /dev/null; then
    log "not a Debian/Ubuntu system: make sure these are installed: ${wanted[*]}"
    return
  fi
  local missing=() package
  for package in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2> /dev/null | grep -q 'install ok installed' \
      || missing+=("$package")
  done
  ((${#missing[@]} == 0)) && return
  local sudo=()
  if ((EUID != 0)); then
    command -v sudo > /dev/null || die "missing Debian packages (${missing[*]}) and no sudo: install them as root"
    sudo=(sudo)
  fi
  log "installing Debian packages: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

create_venv() {
  if [[ ! -x $VENV/bin/python ]]; then
    command -v "$PYTHON" > /dev/null \
      || die "$PYTHON not found; install Python 3.11 or point LIHMR_PYTHON at a 3.11 interpreter"
    log "creating $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
  fi
  "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
    || die "$VENV is not Python 3.11 (the ROS 2 wheels are cp311): remove it or set LIHMR_PYTHON"
}

# Packages that must be in place before lihmr_ros is built or resolved.
install_python_prerequisites() {
  local key
  key=$(hash_inputs requirements/constraints.txt requirements/no-deps.txt pyproject.toml)
  stamp_matches prerequisites "$key" && return
  log "installing pinned Python prerequisites into $VENV"
  pip_install pip setuptools
  # torch before anything that depends on it, so pip never picks a CUDA build.
  pip_install torch
  # pyproject.toml [build-system] requires: the ROS 2 generators used by setup.py.
  local build_requires
  mapfile -t build_requires < <("$VENV/bin/python" -c '
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    print("\n".join(tomllib.load(f)["build-system"]["requires"]))' "$REPO_ROOT/pyproject.toml")
  pip_install "${build_requires[@]}"
  pip_install --no-deps --requirement "$REQUIREMENTS/no-deps.txt"
  write_stamp prerequisites "$key"
}

generated_code_present() {
  [[ -f $REPO_ROOT/lihmr_ros/msg/__init__.py && -f $VENV/lib/liblihmr_ros__rosidl_typesupport_c.so ]] \
    && compgen -G "$REPO_ROOT/lihmr_ros/*rosidl_typesupport_c*.so" > /dev/null
}

install_lihmr_ros() {
  local key
  key=$(hash_inputs requirements/*.txt pyproject.toml setup.py CMakeLists.txt package.xml msg/*.msg)
  stamp_matches package "$key" && generated_code_present && return
  log "installing lihmr_ros (editable) and building its ROS 2 messages"
  log "(an ERROR from pip that mediapipe lacks jax, jaxlib, sentencepiece, sounddevice is expected: see requirements/no-deps.txt)"
  pip_install --no-build-isolation --editable "${REPO_ROOT}[ros-wheels,test]"
  "$VENV/bin/python" -c '
from rclpy.serialization import serialize_message
from lihmr_ros.msg import HumanMeshArray
serialize_message(HumanMeshArray())' || die "lihmr_ros messages do not load after the build"
  write_stamp package "$key"
}

prebuild_anny_cache() {
  local key stamp=$ANNY_CACHE_DIR/.lihmr-prebuilt
  key=$(hash_inputs requirements/constraints.txt lihmr_ros/body/anny_model.py)
  [[ -f $stamp && $(cat "$stamp") == "$key" ]] && return
  log "building Anny's model cache in $ANNY_CACHE_DIR (about a minute per topology, once per machine)"
  mkdir -p "$ANNY_CACHE_DIR"
  "$VENV/bin/python" -c '
from lihmr_ros.body.anny_model import ANNY_TOPOLOGIES, import_anny
anny = import_anny()
for topology in ANNY_TOPOLOGIES:
    anny.Anny(topology=topology)
    print(f"[setup] Anny cache ready for topology {topology}", flush=True)'
  printf '%s' "$key" > "$stamp"
}

main() {
  cd "$REPO_ROOT"
  # One set-up at a time per checkout (e.g. two `make test` runs started together).
  mkdir -p build
  exec 9> build/setup.lock
  flock 9
  install_debian_packages
  create_venv
  install_python_prerequisites
  install_lihmr_ros
  prebuild_anny_cache
  log "ready: . $VENV/bin/activate"
}

main "$@"
