#!/usr/bin/env bash
# Reproduces the held-out numbers of docs/model_card.md (make eval-heldout):
# set-up, then the held-out synthetic evaluation split regenerated from its
# seed (deterministic, about a minute on 2 cores), then `lihmr eval` with the
# shipped weights through the node's pipeline. Extra arguments go to
# `lihmr eval` (e.g. --weights CHECKPOINT).
set -euo pipefail
# DDS stays on this machine (the demo and the tests also pick their own random domain ids).
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_DOMAIN_ID=${ROS_DOMAIN_ID:-60}

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${LIHMR_VENV:-$REPO_ROOT/.venv}
DATA=${LIHMR_EVAL_DATA:-$REPO_ROOT/out/heldout_eval}

"$REPO_ROOT/scripts/setup.sh"
cd "$REPO_ROOT"
# Same split, seed and count as the model card's table.
[ -f "$DATA/.complete" ] || {
    rm -rf "$DATA"
    "$VENV/bin/lihmr" synth --out "$DATA" --sequences 12 --seed 2002 --split test --workers 1 --eval-format --no-progress
    touch "$DATA/.complete"
}
exec "$VENV/bin/lihmr" eval --data "$DATA" --json "$@"
