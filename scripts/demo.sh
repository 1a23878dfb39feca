#!/usr/bin/env bash
# The project's demo (make demo): brings the environment up to date with
# scripts/setup.sh (minutes on a fresh machine, under a second afterwards), then
# runs `lihmr demo`: recorded footage of people from a camera process, through
# lihmr_node in its own process, recorded into an MCAP bag, with an overlay
# video, per-person meshes and a summary in out/demo. Extra arguments go to
# `lihmr demo` (e.g. --input VIDEO --fps 10 --weights CHECKPOINT --out DIR).
set -euo pipefail
# DDS stays on this machine (the demo and the tests also pick their own random domain ids).
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_DOMAIN_ID=${ROS_DOMAIN_ID:-58}

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${LIHMR_VENV:-$REPO_ROOT/.venv}

"$REPO_ROOT/scripts/setup.sh"
cd "$REPO_ROOT"
exec "$VENV/bin/lihmr" demo "$@"
