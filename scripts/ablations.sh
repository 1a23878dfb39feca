#!/usr/bin/env bash
# The paper's ablations at equal budget (docs/model_card.md, "Ablations"): trains the reference and
# three variants with config/ablation_train.yaml, one after another, then prints their validation
# metrics side by side with the refiner's GFLOPs. Needs the training data of config/train.yaml
# (data/synth_train, data/synth_test) and phase 1's weights (runs/lihmr/best.safetensors).
# Re-running resumes an interrupted variant and skips finished ones.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${LIHMR_VENV:-$REPO_ROOT/.venv}
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_DOMAIN_ID=${ROS_DOMAIN_ID:-57}

"$REPO_ROOT/scripts/setup.sh"
cd "$REPO_ROOT"
for variant in reference full_interaction no_image_features no_frequency_split; do
    out=runs/ablation_$variant
    network=()
    [ "$variant" = reference ] || network=(--network "config/ablations/$variant.yaml")
    if [ -f "$out/best.safetensors" ]; then
        echo "ablation $variant: done ($out)"
        continue
    fi
    resume=()
    [ -f "$out/last.safetensors" ] && resume=(--resume)
    "$VENV/bin/lihmr" train --config config/ablation_train.yaml "${network[@]}" --out "$out" "${resume[@]}" --no-progress
done
exec "$VENV/bin/python" -m lihmr_ros.training.ablation_table runs/ablation_reference runs/ablation_full_interaction \
    runs/ablation_no_image_features runs/ablation_no_frequency_split
