"""Where lihmr_ros finds its files, whichever way it was installed.

Two kinds of files ship with the package:

* **share files** (``config/``, ``launch/``, ``package.xml``): ROS convention
  puts them in ``<prefix>/share/lihmr_ros``.  colcon installs them there, the
  pip route (setup.py) installs them under the virtual environment's prefix,
  and in a source checkout they sit at the repository root.
* **package data** (body model assets, network weights, model tables): these
  live inside the Python package itself, so ``Path(__file__)`` finds them in
  every install route.

ROS-free on purpose: ``ament_index_python`` is used when it is importable, but
nothing here needs rclpy.
"""

from __future__ import annotations

import sys
from pathlib import Path

PACKAGE_NAME = "lihmr_ros"
PACKAGE_DIR = Path(__file__).resolve().parent
"""The ``lihmr_ros`` Python package directory."""

BODY_ASSETS_DIR = PACKAGE_DIR / "body" / "assets"
"""Body-model assets shipped with the package (``*.npz``)."""

WEIGHTS_DIR = PACKAGE_DIR / "weights"
"""Network weights shipped with the package (``*.safetensors``)."""

MODEL_DATA_DIR = PACKAGE_DIR / "model"
"""Model tables shipped next to the model code (``*.txt``)."""


def _is_share_dir(path: Path) -> bool:
    """A share dir is recognised by its package.xml naming this package."""
    manifest = path / "package.xml"
    return manifest.is_file() and f"<name>{PACKAGE_NAME}</name>" in manifest.read_text(encoding="utf-8")


def _source_checkout_dir() -> Path | None:
    """The repository root when this module runs from a source checkout (editable install)."""
    root = PACKAGE_DIR.parent
    return root if _is_share_dir(root) else None


def _ament_index_share_dir() -> Path | None:
    """The share dir registered in the ament index (a sourced ROS workspace), if any."""
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
    except ImportError:
        return None
    try:
        return Path(get_package_share_directory(PACKAGE_NAME))
    except (PackageNotFoundError, OSError):
        # OSError: AMENT_PREFIX_PATH unset or empty, as in a plain venv.
        return None


def _prefix_share_dir() -> Path | None:
    """``<sys.prefix>/share/lihmr_ros``, where a pip install puts the share files."""
    candidate = Path(sys.prefix) / "share" / PACKAGE_NAME
    return candidate if _is_share_dir(candidate) else None


def share_dir() -> Path:
    """The directory holding lihmr_ros's ``package.xml``, ``config/`` and ``launch/``.

    A source checkout wins, so that while developing, edits to ``config/`` apply
    without reinstalling; then the ament index (colcon); then the Python
    environment's prefix (pip).
    """
    for finder in (_source_checkout_dir, _ament_index_share_dir, _prefix_share_dir):
        found = finder()
        if found is not None and _is_share_dir(found):
            return found
    raise FileNotFoundError(
        f"cannot find the {PACKAGE_NAME} share directory (package.xml, config/, launch/): "
        f"not a source checkout ({PACKAGE_DIR.parent}), not in the ament index "
        f"(source your ROS workspace's install/setup.bash), not in {Path(sys.prefix) / 'share' / PACKAGE_NAME} "
        "(reinstall with scripts/setup.sh or pip)"
    )


def config_dir() -> Path:
    """The installed ``config/`` directory (ROS parameter files and presets)."""
    return share_dir() / "config"


def launch_dir() -> Path:
    """The installed ``launch/`` directory."""
    return share_dir() / "launch"


def config_file(name: str) -> Path:
    """Path of a file in ``config/``, with an error that lists what is there if it is missing."""
    directory = config_dir()
    path = directory / name
    if not path.is_file():
        available = sorted(p.name for p in directory.glob("*")) if directory.is_dir() else []
        raise FileNotFoundError(
            f"config file '{name}' not found in {directory}; available: {', '.join(available) or 'none'}"
        )
    return path
