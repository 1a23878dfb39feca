"""Where the model commands get their mesh template from.

An explicit ``.npz`` path wins; otherwise the packaged default template of the
body module is used, so ``lihmr bench`` / ``lihmr export`` work without flags.
"""

from __future__ import annotations

from pathlib import Path

from lihmr_ros.body.template import MeshTemplate


def resolve_template(path: Path | None = None) -> MeshTemplate:
    """The template at ``path``, or the packaged default one."""
    if path is not None:
        return MeshTemplate.load(path)
    from lihmr_ros.body import load_template

    return load_template()
