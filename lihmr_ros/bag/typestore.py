"""A ``rosbags`` typestore with the ``lihmr_ros`` messages registered next to the standard ROS 2 ones.

The definitions are parsed from the same ``.msg`` files the ROS build
generated its code from (``share/lihmr_ros/msg``), so bags written here carry
the exact message definitions and RIHS01 type hashes ROS tools expect, and
there is no second copy of the interface to drift out of date.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from lihmr_ros import paths

LIHMR_MESSAGE_NAMES: tuple[str, ...] = ("HumanMesh", "HumanMeshArray", "MeshTopology")
"""Our message types, in dependency order (HumanMeshArray holds HumanMesh)."""

DEFAULT_STORE = Stores.ROS2_KILTED
"""Standard message definitions of the ROS 2 release the wheels provide; the messages we record
(sensor_msgs, diagnostic_msgs, visualization_msgs) are identical in Humble, Jazzy and Kilted."""


def message_definitions_dir() -> Path:
    """The directory holding ``HumanMesh.msg`` etc.: the share dir's ``msg/`` (source checkout or install)."""
    directory = paths.share_dir() / "msg"
    missing = [name for name in LIHMR_MESSAGE_NAMES if not (directory / f"{name}.msg").is_file()]
    if missing:
        raise FileNotFoundError(
            f"lihmr_ros message definitions {', '.join(missing)} not found in {directory}; "
            "reinstall lihmr_ros (scripts/setup.sh, pip or colcon), which installs msg/ into share/lihmr_ros"
        )
    return directory


@lru_cache(maxsize=4)
def lihmr_typestore(store: Stores = DEFAULT_STORE) -> Typestore:
    """A typestore for ``store`` plus ``lihmr_ros/msg/*``; cached, as parsing the definitions takes ~50 ms.

    The returned typestore is shared: register further types on a fresh
    ``rosbags.typesys.get_typestore`` instead of on this one.
    """
    typestore = get_typestore(store)
    directory = message_definitions_dir()
    types = {}
    for name in LIHMR_MESSAGE_NAMES:
        text = (directory / f"{name}.msg").read_text(encoding="utf-8")
        types.update(get_types_from_msg(text, f"lihmr_ros/msg/{name}"))
    typestore.register(types)
    return typestore
