#!/usr/bin/env bash
# The project's test command (make test; .ci/run calls it): brings the
# environment up to date with scripts/setup.sh (seconds when nothing changed),
# then runs the whole pytest suite. Extra arguments go to pytest.
# pytest's exit status is passed through unchanged, including 5 ("no tests
# collected"), which counts as a failure.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${LIHMR_VENV:-$REPO_ROOT/.venv}

"$REPO_ROOT/scripts/setup.sh"
cd "$REPO_ROOT"
exec "$VENV/bin/python" -m pytest test -q "$@"
