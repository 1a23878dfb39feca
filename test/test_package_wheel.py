"""A regular (non-editable) wheel carries everything an install needs.

The development install is editable, so it would not notice package data or
generated files that a normal ``pip install .`` leaves out; this builds the
wheel the way pip does and inspects it.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# Must match [tool.setuptools.package-data] in pyproject.toml.
PACKAGE_DATA_GLOBS = ("lihmr_ros/body/assets/*.npz", "lihmr_ros/weights/*.safetensors", "lihmr_ros/model/*.txt")


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory) -> set[str]:
    out_dir = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-q", "-w", str(out_dir), "."],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = out_dir.glob("lihmr_ros-*.whl")
    assert not wheel.name.endswith("-none-any.whl"), f"{wheel.name}: compiled libraries need a platform tag"
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_wheel_contains_generated_messages(wheel_names: set[str]) -> None:
    for module in ("__init__", "_human_mesh", "_human_mesh_array", "_mesh_topology"):
        assert f"lihmr_ros/msg/{module}.py" in wheel_names
    assert any(n.startswith("lihmr_ros/lihmr_ros_s__rosidl_typesupport_c") for n in wheel_names)


def test_wheel_installs_libraries_and_share_files_under_the_prefix(wheel_names: set[str]) -> None:
    data = {n.split(".data/data/", 1)[1] for n in wheel_names if ".data/data/" in n}
    assert "lib/liblihmr_ros__rosidl_typesupport_c.so" in data
    assert "lib/liblihmr_ros__rosidl_generator_py.so" in data
    assert "share/lihmr_ros/package.xml" in data
    assert "share/lihmr_ros/msg/HumanMeshArray.msg" in data
    assert "share/ament_index/resource_index/packages/lihmr_ros" in data
    for shared_dir in ("config", "launch", "resource"):
        for source in (REPO_ROOT / shared_dir).glob("*"):
            if source.is_file():
                assert f"share/lihmr_ros/{shared_dir}/{source.name}" in data


def test_wheel_contains_package_data_and_entry_points(wheel_names: set[str]) -> None:
    for pattern in PACKAGE_DATA_GLOBS:
        for source in REPO_ROOT.glob(pattern):
            assert source.relative_to(REPO_ROOT).as_posix() in wheel_names
    assert "lihmr_ros/cli.py" in wheel_names
    assert any(n.endswith(".dist-info/entry_points.txt") for n in wheel_names)
