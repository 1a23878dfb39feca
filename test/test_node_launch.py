"""Launch file and RViz config: checks possible without launch_ros / RViz (neither installs here)."""

from __future__ import annotations

import ast
import py_compile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
LAUNCH = REPO / "launch" / "lihmr.launch.py"
RVIZ = REPO / "config" / "lihmr.rviz"


def _declared_arguments() -> dict[str, str]:
    """Launch argument name -> default value, read from the source's DeclareLaunchArgument calls."""
    arguments = {}
    for node in ast.walk(ast.parse(LAUNCH.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "DeclareLaunchArgument":
            name = node.args[0].value
            default = next(k.value for k in node.keywords if k.arg == "default_value")
            arguments[name] = default.value if isinstance(default, ast.Constant) else None
    return arguments


def test_launch_file_compiles_and_declares_the_camera_arguments(tmp_path: Path) -> None:
    py_compile.compile(str(LAUNCH), cfile=str(tmp_path / "launch.pyc"), doraise=True)
    arguments = _declared_arguments()
    assert {"camera", "camera_info", "compressed", "namespace", "params_file", "frame_id"} <= set(arguments)
    source = LAUNCH.read_text(encoding="utf-8")
    assert 'executable="lihmr_node"' in source and "def generate_launch_description()" in source


def test_rviz_shows_markers_and_overlay_in_the_launch_default_frame() -> None:
    config = yaml.safe_load(RVIZ.read_text(encoding="utf-8"))["Visualization Manager"]
    displays = {display["Class"]: display for display in config["Displays"]}
    assert displays["rviz_default_plugins/MarkerArray"]["Topic"]["Value"] == "/markers"
    assert displays["rviz_default_plugins/Image"]["Topic"]["Value"] == "/overlay"
    assert config["Global Options"]["Fixed Frame"] == _declared_arguments()["frame_id"] == "camera_optical_frame"
