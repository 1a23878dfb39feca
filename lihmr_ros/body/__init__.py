"""Body models and the frozen mesh template the network is built around.

Importing this package is cheap: it pulls in neither ``anny`` nor ``smplx``.
Runtime code only needs :func:`load_template`; the body-model wrappers
(``anny_model``, ``smpl_model``) are for template building, synthetic data
and evaluation.
"""

from __future__ import annotations

from pathlib import Path

from lihmr_ros.body.template import MeshTemplate

ASSETS_DIR = Path(__file__).resolve().parent / "assets"

DEFAULT_TEMPLATES: dict[str, str] = {
    "anny": "anny_notoes_collapse3pc.npz",
}
"""Shipped template file of each body model name accepted by :func:`load_template`."""


def template_path(name: str = "anny") -> Path:
    """Path of a shipped template: a body model name (``anny``) or an asset file stem."""
    filename = DEFAULT_TEMPLATES.get(name, f"{name}.npz")
    path = ASSETS_DIR / filename
    if not path.is_file():
        available = sorted([*DEFAULT_TEMPLATES, *(p.stem for p in ASSETS_DIR.glob("*.npz"))])
        raise FileNotFoundError(
            f"no shipped mesh template '{name}' ({path}); available: {', '.join(available) or 'none'}. "
            "Build one with `lihmr body build-template`."
        )
    return path


def load_template(name: str = "anny") -> MeshTemplate:
    """The shipped template for a body model (default: Anny at the default coarse topology)."""
    return MeshTemplate.load(template_path(name))


__all__ = ["ASSETS_DIR", "DEFAULT_TEMPLATES", "MeshTemplate", "load_template", "template_path"]
