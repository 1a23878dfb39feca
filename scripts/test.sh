#!/usr/bin/env bash
# The project's test command (make test; .ci/run calls it): brings the
# environment up to date with scripts/setup.sh (seconds when nothing changed),
# then runs the whole pytest suite. Extra arguments go to pytest.
# pytest's exit status is passed through unchanged, including 5 ("no tests
# collected"), which counts as a failure.
set -euo pipefail
# DDS stays on this machine (the demo and the tests also pick their own random domain ids).
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_DOMAIN_ID=${ROS_DOMAIN_ID:-59}

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${LIHMR_VENV:-$REPO_ROOT/.venv}

"$REPO_ROOT/scripts/setup.sh"
cd "$REPO_ROOT"
exec "$VENV/bin/python" -m pytest test -q "$@"
